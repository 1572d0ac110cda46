/**
 * The Ink view of a build. Finished steps go into `<Static>` (written once, scrolled away by the
 * terminal like any other output); only the live area (header, running stages with their output
 * panes, the summary) is redrawn. Everything shown comes from the `ViewState` prop.
 */
import { Box, Static, Text } from 'ink';
import { FAILED_TAIL, finishedLineParts, finishedStatus, lookOf, seconds, STATUS_WIDTH, summaryLines } from './text.js';
import { activeByStage, type StepView, type ViewState } from '../view-state.js';
import { layoutLive, type StageGroup } from './layout.js';
import { pullLine } from '../../format.js';

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
/** Live steps show only `waiting` or an elapsed time: a narrow column leaves room for the text. */
const LIVE_STATUS_WIDTH = 8;

export function BuildView({ state, now, columns, rows, final, logPathOf }: BuildViewProps) {
  const finished = state.finished.map((id) => state.steps[id]).filter((step) => step !== undefined);
  return (
    <>
      <Static items={finished}>
        {(step) => <FinishedStep key={step.stepId} step={step} width={columns} logPath={logPathOf?.(step.stepId)} />}
      </Static>
      {final ? (
        <Summary state={state} now={now} logPathOf={logPathOf} />
      ) : (
        <Live state={state} now={now} columns={columns} rows={rows} />
      )}
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
        <StepLine
          key={step.stepId}
          step={step}
          wrap="truncate-end"
          status="waiting"
          icon="·"
          statusWidth={LIVE_STATUS_WIDTH}
        />
      ))}
      {layout.hidden > 0 ? (
        <Text dimColor>{`  +${layout.hidden} more stage${layout.hidden === 1 ? '' : 's'}`}</Text>
      ) : null}
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

function StageBlock({
  group,
  paneLines,
  now,
  width,
}: {
  group: StageGroup;
  paneLines: number;
  now: number;
  width: number;
}) {
  return (
    <Box flexDirection="column" width={width} paddingRight={1}>
      <Text bold wrap="truncate-end">{`▸ ${group.stage}`}</Text>
      {group.steps.map((step) => (
        <Box key={step.stepId} flexDirection="column">
          <StepLine
            step={step}
            wrap="truncate-end"
            status={liveStatus(step, now)}
            icon={step.phase === 'running' ? spinner(now) : '·'}
            statusWidth={LIVE_STATUS_WIDTH}
          />
          {step.phase === 'running' && paneLines > 0 && (step.pulls?.length ?? 0) > 0 ? (
            <Pane lines={(step.pulls ?? []).map(pullLine).slice(-paneLines)} />
          ) : null}
          {step.phase === 'running' && paneLines > 0 && step.outputLines > 0 ? (
            <Pane lines={step.tail.slice(-paneLines)} />
          ) : null}
        </Box>
      ))}
    </Box>
  );
}

function Pane({ lines }: { lines: string[] }) {
  return (
    <Box flexDirection="column" paddingLeft={4}>
      {lines.map((line, index) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: a frame's lines never reorder
        <Text key={index} dimColor wrap="truncate-end">{`│ ${line}`}</Text>
      ))}
    </Box>
  );
}

/** One step: icon, `#n [stage]`, instruction, and its status on the right. */
function StepLine({
  step,
  status,
  icon,
  wrap,
  color,
  statusWidth = STATUS_WIDTH,
}: {
  step: StepView;
  status: string;
  icon: string;
  wrap: 'wrap' | 'truncate-end';
  color?: string;
  statusWidth?: number;
}) {
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

function FinishedStep({ step, width, logPath }: { step: StepView; width: number; logPath: string | undefined }) {
  const look = lookOf(step);
  return (
    <Box flexDirection="column" width={width}>
      <FinishedLine step={step} icon={look.icon} color={look.color} status={finishedStatus(step)} width={width} />
      {step.phase === 'failed' ? (
        <Box flexDirection="column" paddingLeft={4}>
          {step.tail.slice(-FAILED_TAIL).map((line, index) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: a frame's lines never reorder
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
function FinishedLine({
  step,
  icon,
  color,
  status,
  width,
}: {
  step: StepView;
  icon: string;
  color: string;
  status: string;
  width: number;
}) {
  const parts = finishedLineParts(step, width);
  if (parts.text.length > parts.room)
    return <StepLine step={step} icon={icon} color={color} wrap="wrap" status={status} />;
  return (
    <Text>
      <Text color={color}>{parts.left}</Text>
      <Text dimColor>{parts.label}</Text>
      {parts.text.padEnd(parts.room + 1)}
      <Text color={color}>{status.padStart(STATUS_WIDTH)}</Text>
    </Text>
  );
}

function Summary({ state, now, logPathOf }: { state: ViewState; now: number; logPathOf: BuildViewProps['logPathOf'] }) {
  return (
    <Box flexDirection="column">
      {summaryLines(state, now, logPathOf).map((line, index) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: a frame's lines never reorder
        <Text key={index} color={line.color} bold={line.bold} wrap="truncate-end">
          {line.text}
        </Text>
      ))}
    </Box>
  );
}

function liveStatus(step: StepView, now: number): string {
  if (step.phase === 'waiting') return 'waiting';
  return seconds(now - step.startedAt);
}

function spinner(now: number): string {
  return SPINNER[Math.floor(now / 100) % SPINNER.length]!;
}
