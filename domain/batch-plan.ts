/**
 * Large batches. A trigger may ask for up to `MAX_BATCH_RUNS` runs (suites, flows, times a matrix of
 * variables). Past a threshold a batch no longer carries its runs in its workflow input: it carries a
 * plan (each flow once, by reference, and the matrix), runs it in chunk workflows of a bounded size
 * (so no history grows past a few thousand events), and each run loads its definitions itself.
 * Pure functions: the gateway and the workflows expand a plan the same way.
 */
import type { BatchPlan, BatchRunInput, PlannedFlow } from './flow-types';

export const MAX_BATCH_RUNS = 10_000;

export interface BatchLimits {
  /** Up to this many runs a batch carries them whole (each run's definitions in its input). */
  inlineRuns: number;
  /** Runs per chunk workflow: about 8 history events each, so a chunk's history stays near 4,000. */
  chunkRuns: number;
}
export const DEFAULT_BATCH_LIMITS: BatchLimits = { inlineRuns: 500, chunkRuns: 500 };
/** At most this many matrix variables, each with at most `MAX_BATCH_RUNS` values of this length. */
export const MAX_MATRIX_KEYS = 10;
export const MAX_MATRIX_VALUE_LENGTH = 1000;

/** Every combination of the values, as nested loops in key order (the last key varies fastest); `[{}]` without a matrix. */
export function matrixCombos(matrix: Record<string, readonly (string | number | boolean)[]> | undefined): Record<string, string>[] {
  let combos: Record<string, string>[] = [{}];
  for (const [name, values] of Object.entries(matrix ?? {}).reverse())
    combos = values.flatMap((v) => combos.map((c) => ({ [name]: String(v), ...c })));
  return combos;
}

/** How many runs a matrix makes of each flow, without expanding it. */
export const matrixSize = (matrix: Record<string, readonly unknown[]> | undefined): number =>
  Object.values(matrix ?? {}).reduce((n, values) => n * values.length, 1);

/** The flow and the variables of the run at `position` of a plan. */
export function plannedAt(plan: Pick<BatchPlan, 'flows' | 'combos' | 'comboOffset'>, position: number): { flow: PlannedFlow; variables: Record<string, string> } {
  const flow = plan.flows[position % plan.flows.length]!;
  const combo = plan.combos[Math.floor(position / plan.flows.length) - plan.comboOffset] ?? {};
  return { flow, variables: { ...flow.variables, ...combo } };
}

/** The part of a plan the runs at positions [from, to) need: their combinations only. */
export function planSlice(plan: BatchPlan, from: number, to: number): BatchPlan {
  const first = Math.floor(from / plan.flows.length);
  const last = Math.floor((to - 1) / plan.flows.length);
  return { ...plan, combos: plan.combos.slice(first - plan.comboOffset, last + 1 - plan.comboOffset), comboOffset: first };
}

/** What the batch workflow is started with: the runs whole, or (over `inlineRuns`) the plan without them. */
export function workflowInput(input: BatchRunInput, limits: BatchLimits = DEFAULT_BATCH_LIMITS): BatchRunInput {
  const { plan, ...rest } = input;
  if (!plan || input.runs.length <= limits.inlineRuns) return rest;
  return { ...rest, runs: [], plan: { ...plan, chunkRuns: limits.chunkRuns } };
}

/** Temporal refuses a Keyword search attribute longer than this many bytes. */
const MAX_KEYWORD_BYTES = 2048;

/**
 * Ids of the flows a batch runs, comma-separated, for its search attribute: as many whole ids as
 * fit in a Keyword (each run's own workflow carries its flow's id in full).
 */
export function batchFlowIds(input: BatchRunInput): string {
  const ids = [...new Set(input.plan && input.runs.length === 0 ? input.plan.flows.map((f) => f.flowId) : input.runs.map((r) => r.flow.id))];
  let value = '';
  let bytes = 0;
  for (const id of ids) {
    const added = utf8Length(id) + (value ? 1 : 0);
    if (bytes + added > MAX_KEYWORD_BYTES) break;
    value = value ? `${value},${id}` : id;
    bytes += added;
  }
  return value;
}

/** UTF-8 length without Buffer or TextEncoder (this file is bundled into the workflows too). */
function utf8Length(s: string): number {
  let n = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
  }
  return n;
}
