/**
 * Plans for several platforms: each stage's platform, which stages come out the same for every
 * target (built once), and the emulator check made before any step runs.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DockerfileError } from '../../../core/errors.js';
import { hostArchitecture } from '../../../core/oci.js';
import { planFor } from '../../../builder/plan-dockerfile.js';
import { formatPlatform, type PlatformSpec } from '../../../builder/platform.js';
import { checkEmulators, countSharedSteps, stageSignatures } from '../../../builder/multi-platform.js';
import { tempDir } from '../../helpers/layers.js';

const host: PlatformSpec = { os: 'linux', architecture: hostArchitecture() };
const foreign: PlatformSpec = { os: 'linux', architecture: host.architecture === 'arm64' ? 'amd64' : 'arm64' };
const qemu = foreign.architecture === 'arm64' ? 'qemu-aarch64' : 'qemu-x86_64';

const crossCompiling = [
  'FROM --platform=$BUILDPLATFORM busybox AS build',
  'ARG TARGETARCH',
  'RUN echo $TARGETARCH > /out',
  'FROM --platform=$BUILDPLATFORM busybox AS tools',
  'RUN echo tools > /tools',
  'FROM tools AS more-tools',
  'RUN echo more',
  'FROM busybox',
  'COPY --from=build /out /out',
  'COPY --from=more-tools /tools /tools',
  '',
].join('\n');

function plan(text: string, platform: PlatformSpec) {
  return planFor({ dockerfile: { text, name: 'Dockerfile' }, buildArgs: new Map(), platform });
}

describe('stage platforms', () => {
  it('come from FROM --platform, else the base stage, else the target', () => {
    const planned = plan(crossCompiling, foreign);
    expect(planned.stages.map((stage) => formatPlatform(stage.platform))).toEqual([
      formatPlatform(host),
      formatPlatform(host),
      formatPlatform(host),
      formatPlatform(foreign),
    ]);
    expect(planned.stages.map((stage) => stage.explicitPlatform)).toEqual([true, true, false, false]);
  });

  it('keep the target in TARGET* ARGs, also after a bare global ARG TARGETARCH', () => {
    const planned = plan('ARG TARGETARCH\nFROM busybox:$TARGETARCH\nARG TARGETARCH\n', foreign);
    expect(planned.globalArgs.get('TARGETARCH')).toBe(foreign.architecture);
    expect(planned.globalArgs.get('BUILDARCH')).toBe(host.architecture);
    expect(planned.stages[0]!.base).toEqual({ kind: 'image', reference: `busybox:${foreign.architecture}` });
  });

  it('refuses a FROM --platform that is no platform, naming the line', () => {
    expect(() => plan('FROM --platform=linux busybox\n', host)).toThrow(
      new DockerfileError('invalid platform "linux" in FROM --platform', 'Dockerfile', 1),
    );
  });
});

describe('stageSignatures', () => {
  it('are equal across targets exactly for stages that cannot see the target', () => {
    const forHost = stageSignatures(plan(crossCompiling, host));
    const forForeign = stageSignatures(plan(crossCompiling, foreign));
    // build reads TARGETARCH; tools and the stage on it do not; the last stage is for the target.
    expect(forHost.map((signature, i) => signature === forForeign[i])).toEqual([false, true, true, false]);
  });

  it('differ when FROM or a global ARG the stage declares depends on the target', () => {
    const text = 'ARG ARCH=$TARGETARCH\nFROM --platform=$BUILDPLATFORM busybox\nARG ARCH\nRUN echo $ARCH\n';
    expect(stageSignatures(plan(text, host))[0]).not.toBe(stageSignatures(plan(text, foreign))[0]);
    const from = 'FROM --platform=$BUILDPLATFORM busybox:$TARGETARCH\nRUN true\n';
    expect(stageSignatures(plan(from, host))[0]).not.toBe(stageSignatures(plan(from, foreign))[0]);
  });

  it('count a shared stage once in the step total', () => {
    const plans = [plan(crossCompiling, host), plan(crossCompiling, foreign)];
    const signatures = plans.map(stageSignatures);
    const common = new Set(signatures[0]!.filter((signature) => signatures[1]!.includes(signature)));
    // build 3 + final 3, per platform; tools 2 + more-tools 2 once.
    expect(countSharedSteps(plans, signatures, common)).toBe(2 * (3 + 3) + 2 + 2);
  });
});

describe('checkEmulators', () => {
  async function binfmt(withHandler: boolean): Promise<string> {
    const dir = path.join(await tempDir(), 'binfmt_misc');
    await mkdir(dir);
    await writeFile(path.join(dir, 'status'), 'enabled\n');
    if (withHandler) await writeFile(path.join(dir, qemu), 'enabled\ninterpreter /x\nflags: PF\n');
    return dir;
  }

  it('refuses a RUN for a foreign platform without a handler, naming the RUN line', async () => {
    const dir = await binfmt(false);
    const text = 'FROM busybox\nCOPY a /a\nRUN make\n';
    expect(() => checkEmulators(plan(text, foreign), dir)).toThrow(
      new DockerfileError(
        `RUN for ${formatPlatform(foreign)} needs an emulator: no binfmt_misc handler ${qemu} is registered ` +
          `(apt-get install qemu-user-static binfmt-support && update-binfmts --enable ${qemu})`,
        'Dockerfile',
        3,
        undefined,
        'NO_EMULATOR',
      ),
    );
    const registered = await binfmt(true);
    expect(() => checkEmulators(plan(text, foreign), registered)).not.toThrow();
  });

  it('needs none when only $BUILDPLATFORM stages run commands (cross-compiling)', async () => {
    const dir = await binfmt(false);
    expect(() => checkEmulators(plan(crossCompiling, foreign), dir)).not.toThrow();
    expect(() => checkEmulators(plan('FROM busybox\nCOPY a /a\n', foreign), dir)).not.toThrow();
  });
});
