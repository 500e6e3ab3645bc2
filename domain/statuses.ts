/** Run and step statuses of the platform and their spelling on each API surface (docs/api-contracts.md). */
export const RUN_STATUSES = ['queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled', 'timed_out'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const STEP_STATUSES = ['queued', 'running', 'waiting', 'succeeded', 'failed', 'skipped', 'cancelled'] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

export const TERMINAL_RUN_STATUSES: readonly RunStatus[] = ['succeeded', 'failed', 'cancelled', 'timed_out'];
export const TERMINAL_STEP_STATUSES: readonly StepStatus[] = ['succeeded', 'failed', 'skipped', 'cancelled'];

export const isTerminalRun = (s: RunStatus): boolean => TERMINAL_RUN_STATUSES.includes(s);
export const isTerminalStep = (s: StepStatus): boolean => TERMINAL_STEP_STATUSES.includes(s);

export const RUN_SOURCES = ['api', 'ci', 'dashboard', 'mcp', 'schedule', 'agent', 'rerun'] as const;
export type RunSource = (typeof RUN_SOURCES)[number];
/** Sources a trigger request may claim; the others are set by the platform. */
export const CLIENT_RUN_SOURCES = ['api', 'ci', 'dashboard', 'mcp'] as const;

/** FlowRun objects have one word for every in-flight state and none for a timeout. */
export function flowRunObjectStatus(s: RunStatus): string {
  switch (s) {
    case 'running':
    case 'waiting':
      return 'working';
    case 'succeeded':
      return 'passed';
    case 'timed_out':
      return 'failed';
    default:
      return s;
  }
}

/** Per-flow runs spell statuses in upper case. */
export const upperCaseStatus = (s: RunStatus | StepStatus): string => s.toUpperCase();

/** Overall status of a batch, derived from its runs so that it never disagrees with them. */
export function batchStatus(runs: readonly RunStatus[]): RunStatus {
  if (runs.length === 0) return 'queued';
  if (!runs.every(isTerminalRun)) {
    if (runs.some((s) => s === 'waiting')) return 'waiting';
    return runs.every((s) => s === 'queued') ? 'queued' : 'running';
  }
  if (runs.every((s) => s === 'succeeded')) return 'succeeded';
  if (runs.some((s) => s === 'failed')) return 'failed';
  if (runs.some((s) => s === 'timed_out')) return 'timed_out';
  return 'cancelled';
}
