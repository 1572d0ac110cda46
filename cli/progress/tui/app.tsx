/**
 * The Ink view of a build. Finished steps go into `<Static>` (written once, scrolled away by the
 * terminal like any other output); only the live area (header, running stages with their output
 * panes, the summary) is redrawn. Everything shown comes from the `ViewState` prop.
 */
import { Box, Static, Text } from 'ink';
import { formatBytes, formatDuration } from '../../format.js';
import { activeByStage, type StepView, type ViewState } from '../view-state.js';
import { layoutLive, type StageGroup } from './layout.js';

export interface BuildViewProps {
  state: ViewState;
  /** The clock the spinner and elapsed times use (a prop, so frames are reproducible in tests). */
  now: number;
  columns: number;
  rows: number;
  /** The build ended (or failed): show the summary instead of the live area. */
  final: boolean;
  /** Log file of a step, shown under a failed step. */
  logPathOf?: (stepId: string) => string | undefined;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
/** Width of the status column (`CACHED (saved 12.3s)`), so statuses line up. */
const STATUS_WIDTH = 21;
/** Live steps show only `waiting` or an elapsed time: a narrow column leaves room for the text. */
const LIVE_STATUS_WIDTH = 8;
/** Output lines of a failed step kept on screen (all the view state holds). */
const FAILED_TAIL = 12;

export function BuildView({ state, now, columns, rows, final, logPathOf }: BuildViewProps) {
  const finished = state.finished.map((id) => state.steps[id]).filter((step) => step !== undefined);
  return (
    <>
      <Static items={finished}>{(step) => <FinishedStep key={step.stepId} step={step} width={columns} logPath={logPathOf?.(step.stepId)} />}</Static>
      {final ? <Summary state={state} now={now} logPathOf={logPathOf} /> : <Live state={state} now={now} columns={columns} rows={rows} />}
    </>
  );
}

function Live({ state, now, columns, rows }: { state: ViewState; now: number; columns: number; rows: number }) {
  const groups = activeByStage(state);
  const layout = layoutLive(groups, rows, columns);
  const running = groups.filter((group) => group.steps.some((step) => step.phase === 'running')).length;
  const blockWidth = layout.direction === 'row' ? Math.floor(columns / layout.running.length) : columns;
  return (
    <Box flexDirection="column" width={columns}>
      <Header state={state} now={now} parallel={running} />
      <Box flexDirection={layout.direction}>
        {layout.running.map((group) => (
          <StageBlock key={group.stage} group={group} paneLines={layout.paneLines} now={now} width={blockWidth} />
        ))}
      </Box>
      {layout.waiting.map((step) => (
        <StepLine key={step.stepId} step={step} wrap="truncate-end" status="waiting" icon="·" statusWidth={LIVE_STATUS_WIDTH} />
      ))}
      {layout.hidden > 0 ? <Text dimColor>{`  +${layout.hidden} more stage${layout.hidden === 1 ? '' : 's'}`}</Text> : null}
    </Box>
  );
}

/** `⠹ 7/12 steps · 3 cached · 2 stages in parallel · 2.4s` */
function Header({ state, now, parallel }: { state: ViewState; now: number; parallel: number }) {
  const { finished, cached } = state.counts;
  const parts = [
    `${finished}/${state.totalSteps} steps`,
    `${cached} cached`,
    ...(parallel > 1 ? [`${parallel} stages in parallel`] : []),
    seconds(now - (state.startedAt ?? now)),
  ];
  return (
    <Text wrap="truncate-end">
      <Text color="cyan">{spinner(now)}</Text>
      <Text bold> tzbuild </Text>
      {parts.join(' · ')}
    </Text>
  );
}

function StageBlock({ group, paneLines, now, width }: { group: StageGroup; paneLines: number; now: number; width: number }) {
  return (
    <Box flexDirection="column" width={width} paddingRight={1}>
      <Text bold wrap="truncate-end">{`▸ ${group.stage}`}</Text>
      {group.steps.map((step) => (
        <Box key={step.stepId} flexDirection="column">
          <StepLine step={step} wrap="truncate-end" status={liveStatus(step, now)} icon={step.phase === 'running' ? spinner(now) : '·'} statusWidth={LIVE_STATUS_WIDTH} />
          {step.phase === 'running' && paneLines > 0 && step.outputLines > 0 ? <Pane lines={step.tail.slice(-paneLines)} /> : null}
        </Box>
      ))}
    </Box>
  );
}

function Pane({ lines }: { lines: string[] }) {
  return (
    <Box flexDirection="column" paddingLeft={4}>
      {lines.map((line, index) => (
        <Text key={index} dimColor wrap="truncate-end">{`│ ${line}`}</Text>
      ))}
    </Box>
  );
}

/** One step: icon, `#n [stage]`, instruction, and its status on the right. */
function StepLine({ step, status, icon, wrap, color, statusWidth = STATUS_WIDTH }: { step: StepView; status: string; icon: string; wrap: 'wrap' | 'truncate-end'; color?: string; statusWidth?: number }) {
  return (
    <Box>
      <Box flexShrink={0}>
        <Text color={color}>{` ${icon} `}</Text>
        <Text dimColor>{`#${step.index} [${step.stage}] `}</Text>
      </Box>
      <Box flexGrow={1} flexShrink={1}>
        <Text wrap={wrap}>{step.text}</Text>
      </Box>
      <Box flexShrink={0} marginLeft={1} width={statusWidth} justifyContent="flex-end">
        <Text color={color}>{status}</Text>
      </Box>
    </Box>
  );
}

const FINISHED_LOOK: Record<string, { icon: string; color: string }> = {
  done: { icon: '✔', color: 'green' },
  cached: { icon: '≡', color: 'blue' },
  failed: { icon: '✘', color: 'red' },
  cancelled: { icon: '⊘', color: 'yellow' },
};

function FinishedStep({ step, width, logPath }: { step: StepView; width: number; logPath: string | undefined }) {
  const look = FINISHED_LOOK[step.phase] ?? { icon: '·', color: 'white' };
  return (
    <Box flexDirection="column" width={width}>
      <FinishedLine step={step} icon={look.icon} color={look.color} status={finishedStatus(step)} width={width} />
      {step.phase === 'failed' ? (
        <Box flexDirection="column" paddingLeft={4}>
          {step.tail.slice(-FAILED_TAIL).map((line, index) => (
            <Text key={index}>{`│ ${line}`}</Text>
          ))}
          {logPath === undefined ? null : <Text dimColor>{`full output: ${logPath}`}</Text>}
        </Box>
      ) : null}
    </Box>
  );
}

/**
 * A finished step's line. Most fit on one line: then it is one pre-padded Text, which Ink lays
 * out and measures far faster than three boxes (it matters for a 60-step cached rebuild, where
 * the TUI's start-up is most of its cost). Longer ones wrap inside their column.
 */
function FinishedLine({ step, icon, color, status, width }: { step: StepView; icon: string; color: string; status: string; width: number }) {
  const left = ` ${icon} `;
  const label = `#${step.index} [${step.stage}] `;
  const room = width - left.length - label.length - 1 - STATUS_WIDTH;
  if (step.text.length > room) return <StepLine step={step} icon={icon} color={color} wrap="wrap" status={status} />;
  return (
    <Text>
      <Text color={color}>{left}</Text>
      <Text dimColor>{label}</Text>
      {step.text.padEnd(room + 1)}
      <Text color={color}>{status.padStart(STATUS_WIDTH)}</Text>
    </Text>
  );
}

function Summary({ state, now, logPathOf }: { state: ViewState; now: number; logPathOf: BuildViewProps['logPathOf'] }) {
  const result = state.result;
  const took = seconds((result?.endedAt ?? state.lastEventAt ?? now) - (state.startedAt ?? now));
  if (result === undefined && state.failedStep === undefined) {
    // No image and no failed step: a --dry-run, or an error outside any step (it prints below).
    const { finished, cached, ran } = state.counts;
    return <Text bold>{` ■ ended without an image: ${finished}/${state.totalSteps} steps · ${cached} cached · ${ran} not cached · ${took}`}</Text>;
  }
  if (result === undefined) {
    const failed = state.failedStep === undefined ? undefined : state.steps[state.failedStep];
    const where = failed === undefined ? '' : ` at #${failed.index} [${failed.stage}] ${failed.text}`;
    const logPath = failed === undefined ? undefined : logPathOf?.(failed.stepId);
    return (
      <Box flexDirection="column">
        <Text color="red" bold wrap="truncate-end">{` ✘ build failed${where}`}</Text>
        <Text>{`   ${state.counts.finished}/${state.totalSteps} steps finished · ${state.counts.cached} cached · ${took}`}</Text>
        {logPath === undefined ? null : <Text>{`   full output: ${logPath}`}</Text>}
      </Box>
    );
  }
  const rows: [string, string][] = [
    ['image', result.imageId],
    ...(result.manifestDigest === undefined ? [] : [['manifest', result.manifestDigest] as [string, string]]),
    ...(result.size === undefined ? [] : [['size', formatBytes(result.size)] as [string, string]]),
    ...(result.tags.length === 0 ? [] : [['tags', result.tags.join(', ')] as [string, string]]),
  ];
  return (
    <Box flexDirection="column">
      <Text color="green" bold>{` ✔ built in ${took}: ${result.cached} cached, ${result.ran} run${state.counts.savedMs > 0 ? ` · cache saved ${formatDuration(state.counts.savedMs)}` : ''}`}</Text>
      {rows.map(([name, value]) => (
        <Text key={name}>{`   ${name.padEnd(9)}${value}`}</Text>
      ))}
    </Box>
  );
}

function liveStatus(step: StepView, now: number): string {
  if (step.phase === 'waiting') return 'waiting';
  return seconds(now - step.startedAt);
}

function finishedStatus(step: StepView): string {
  switch (step.phase) {
    case 'cached':
      return `CACHED${step.savedMs ? ` (saved ${formatDuration(step.savedMs)})` : ''}`;
    case 'failed':
      return `FAILED after ${seconds(step.durationMs ?? 0)}`;
    case 'cancelled':
      return 'cancelled';
    default: {
      // FROM steps report 0 ms: the base was ready, nothing to time.
      if (!step.durationMs && step.layerSize === undefined) return '';
      const size = step.layerSize === undefined ? '' : `  ${formatBytes(step.layerSize)}`;
      return `${formatDuration(step.durationMs ?? 0)}${size}`;
    }
  }
}

function spinner(now: number): string {
  return SPINNER[Math.floor(now / 100) % SPINNER.length]!;
}

/** Elapsed time with a steady width below a minute: `0.4s`, `12.3s`, then `1m05s`. */
function seconds(ms: number): string {
  const clamped = Math.max(0, ms);
  if (clamped < 60_000) return `${(clamped / 1000).toFixed(1)}s`;
  return `${Math.floor(clamped / 60_000)}m${String(Math.floor((clamped % 60_000) / 1000)).padStart(2, '0')}s`;
}
