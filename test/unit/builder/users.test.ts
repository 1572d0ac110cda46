import type { Stats } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ImageView } from '../../../core/ports.js';
import { resolveOwner, resolveRunUser } from '../../../builder/users.js';

/** An image holding only the given files (what the user lookups read). */
function imageWith(files: Record<string, string>): ImageView {
  return {
    resolve: (path) => Promise.resolve(path),
    stat: () => Promise.resolve(undefined as Stats | undefined),
    readText: (path) => Promise.resolve(files[path] ?? ''),
  };
}

const image = imageWith({
  '/etc/passwd': [
    'root:x:0:0:root:/root:/bin/sh',
    'dev:x:1001:500:dev:/home/dev:/bin/sh',
    '  app:x:1000:1000::/home/app:/bin/sh  ',
    'broken:x:notanumber:1:::',
    'dev:x:2002:2002:second dev:/elsewhere:/bin/sh',
  ].join('\n'),
  '/etc/group': [
    'root:x:0:',
    'staff:x:500:dev',
    'extra:x:600:app,dev',
    '',
    'audio:x:700:dev',
    'wheel:x:800:root',
    'bad:x:x:dev',
  ].join('\n'),
});

describe('resolveRunUser (runc GetExecUser, as BuildKit runs RUN)', () => {
  it('gives a bare user its passwd gid and every group that lists it, in file order', async () => {
    expect(await resolveRunUser(image, 'dev')).toEqual({
      uid: 1001,
      gid: 500,
      home: '/home/dev',
      additionalGids: [500, 600, 700],
    });
    // A uid that passwd lists is that user, supplementary groups included.
    expect(await resolveRunUser(image, '1001')).toEqual(await resolveRunUser(image, 'dev'));
    expect((await resolveRunUser(image, 'app')).additionalGids).toEqual([600]);
    expect((await resolveRunUser(image, 'root')).additionalGids).toEqual([800]);
  });

  it('takes an explicit group, by name or number, without supplementary groups', async () => {
    expect(await resolveRunUser(image, 'dev:extra')).toEqual({
      uid: 1001,
      gid: 600,
      home: '/home/dev',
      additionalGids: [],
    });
    expect(await resolveRunUser(image, '1001:4242')).toEqual({
      uid: 1001,
      gid: 4242,
      home: '/home/dev',
      additionalGids: [],
    });
  });

  it('runs no USER as root with no supplementary groups, and an unlisted uid with gid 0', async () => {
    expect(await resolveRunUser(image, '')).toEqual({ uid: 0, gid: 0, home: '/root', additionalGids: [] });
    expect(await resolveRunUser(image, '4321')).toEqual({ uid: 4321, gid: 0, home: '/', additionalGids: [] });
    expect(await resolveRunUser(imageWith({}), '')).toEqual({ uid: 0, gid: 0, home: '/', additionalGids: [] });
  });

  it('refuses unknown names', async () => {
    await expect(resolveRunUser(image, 'nobody')).rejects.toThrow(
      'unable to find user nobody: no matching entries in passwd file',
    );
    await expect(resolveRunUser(image, 'dev:nogroup')).rejects.toThrow(
      'unable to find group nogroup: no matching entries in group file',
    );
    await expect(resolveRunUser(imageWith({}), 'dev')).rejects.toThrow('unable to find user dev');
  });
});

describe('resolveOwner (BuildKit chown: COPY/ADD --chown, WORKDIR)', () => {
  it('gives a name its passwd uid and gid, and a number itself as the gid', async () => {
    expect(await resolveOwner(image, 'dev')).toEqual({ uid: 1001, gid: 500 });
    expect(await resolveOwner(image, '1001')).toEqual({ uid: 1001, gid: 1001 });
    expect(await resolveOwner(image, '4321')).toEqual({ uid: 4321, gid: 4321 });
    expect(await resolveOwner(imageWith({}), '7')).toEqual({ uid: 7, gid: 7 });
  });

  it('replaces the gid with an explicit group', async () => {
    expect(await resolveOwner(image, 'dev:audio')).toEqual({ uid: 1001, gid: 700 });
    expect(await resolveOwner(image, '1001:65534')).toEqual({ uid: 1001, gid: 65534 });
    expect(await resolveOwner(image, 'app:0')).toEqual({ uid: 1000, gid: 0 });
  });

  it('refuses unknown names', async () => {
    await expect(resolveOwner(image, 'ghost')).rejects.toThrow('unable to find user ghost');
    await expect(resolveOwner(image, '5:ghosts')).rejects.toThrow('unable to find group ghosts');
  });
});
