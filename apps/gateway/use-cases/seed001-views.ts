/**
 * Seed 001 spells a platform run as a FlowRun: the run's flow drawn as a React-Flow graph
 * (`nodes` with their live step state, `edges` from `dependsOn`), its log and its site (app).
 * Pure mapping from the shared read model, so this surface cannot disagree with seed 000's.
 */
import type { RunLog } from '../../../db/entities';
import { dependenciesOf } from '../../../domain/dag';
import type { FlowDefinition, StepDefinition } from '../../../domain/flow-types';
import { isTerminalStep, toSeed001Status } from '../../../domain/statuses';
import type { RunStatus, StepStatus } from '../../../domain/statuses';
import type { LiveRun } from './reconcile';
import { presentedStatus, type StepView } from './run-views';

/** Vertical distance between DAG levels, as the seed draws a two-step flow (y 0, then 150). */
export const LEVEL_HEIGHT = 150;
/** Horizontal distance between steps on the same level, wider than the seed's 272px node. */
export const SIBLING_WIDTH = 300;
/** The seed's node size; the platform draws nothing itself, so it reports the seed's. */
const MEASURED = { width: 272, height: 48 } as const;
/**
 * Fields of the seed's scan/notification editor that have no counterpart in a platform step,
 * carried with the seed's defaults so that its clients still parse every node.
 */
const SEED_EDITOR_FIELDS = {
  type: [] as string[],
  email: '',
  case_id: null,
  objects: [] as unknown[],
  subject: '',
  updates: null,
  maxConds: 4,
  maxNodes: 12,
  threshold: 95,
  conditions: null,
  phone_number: '',
} as const;

/** Seed 001 has no word for `running` or `waiting` either on a node: both are "working". */
export function toSeed001StepStatus(s: StepStatus): string {
  return s === 'skipped' ? 'skipped' : toSeed001Status(s as RunStatus);
}

interface Placed {
  id: string;
  parentId: string | null;
  parents: string[];
  position: { x: number; y: number };
  step: StepDefinition | null;
}

/**
 * Lays the run's steps out level by level. Steps recorded but absent from the definition
 * (a suite's `auth.<id>` steps, which run before the flow) are chained first, in the order
 * they were recorded, and the flow's root steps hang below the last of them.
 */
export function layout(definition: FlowDefinition | null, rows: readonly StepView[]): Placed[] {
  const defSteps = definition?.steps ?? [];
  const defined = new Set(defSteps.map((s) => s.id));
  const extras = rows.filter((r) => !defined.has(r.stepId));
  const before = extras.filter((r) => r.stepId.startsWith('auth.'));
  const after = extras.filter((r) => !r.stepId.startsWith('auth.'));

  const parentsOf = new Map<string, string[]>();
  const order: { id: string; step: StepDefinition | null }[] = [];
  let last: string | null = null;
  for (const r of before) {
    parentsOf.set(r.stepId, last ? [last] : []);
    order.push({ id: r.stepId, step: null });
    last = r.stepId;
  }
  const authTail = last;
  defSteps.forEach((step, i) => {
    const deps = dependenciesOf(defSteps, i).filter((d) => defined.has(d));
    parentsOf.set(step.id, deps.length === 0 && authTail ? [authTail] : deps);
    order.push({ id: step.id, step });
  });
  for (const r of after) {
    const tail = order.length > 0 ? order[order.length - 1]!.id : null;
    parentsOf.set(r.stepId, tail ? [tail] : []);
    order.push({ id: r.stepId, step: null });
  }

  const depth = new Map<string, number>();
  const depthOf = (id: string, seen: Set<string> = new Set()): number => {
    const known = depth.get(id);
    if (known !== undefined) return known;
    if (seen.has(id)) return 0;
    seen.add(id);
    const parents = parentsOf.get(id) ?? [];
    const d = parents.length === 0 ? 0 : 1 + Math.max(...parents.map((p) => depthOf(p, seen)));
    depth.set(id, d);
    return d;
  };
  const siblings = new Map<number, number>();
  return order.map(({ id, step }) => {
    const d = depthOf(id);
    const k = siblings.get(d) ?? 0;
    siblings.set(d, k + 1);
    const parents = parentsOf.get(id) ?? [];
    return { id, step, parents, parentId: parents[0] ?? null, position: { x: k * SIBLING_WIDTH, y: d * LEVEL_HEIGHT } };
  });
}

const json = (v: unknown): string => (v === undefined || v === null ? '{}' : typeof v === 'string' ? v : JSON.stringify(v));

/** A step with no record yet: queued while the run is open, else what the run's end did to it. */
function unrecordedStatus(run: RunStatus): StepStatus {
  if (run === 'cancelled') return 'cancelled';
  if (run === 'succeeded' || run === 'failed' || run === 'timed_out') return 'skipped';
  return 'queued';
}

function nodeOf(p: Placed, row: StepView | undefined, runStatus: RunStatus, endOnFail: boolean) {
  const step = p.step;
  const http = step?.type === 'http' ? step.config : null;
  const status = row?.status ?? unrecordedStatus(runStatus);
  const data = {
    ...SEED_EDITOR_FIELDS,
    id: p.id,
    name: step?.name ?? row?.name ?? p.id,
    uri: http?.url ?? '',
    status: toSeed001StepStatus(status),
    configs: { ...(step?.config ?? {}), end_on_fail: endOnFail },
    headers: json(http?.headers),
    message: row?.error ?? '',
    payload: json(http?.body),
    parentId: p.parentId,
    position: p.position,
    start_if: step?.if ?? null,
    finalized: isTerminalStep(status),
    task_type: step?.type ?? row?.type ?? 'unknown',
    request_type: http ? (http.method ?? 'GET').toUpperCase() : null,
    attempts: row?.attempts ?? 0,
    output: row?.output ?? null,
    time_started: row?.startedAt ?? null,
    time_completed: row?.finishedAt ?? null,
  };
  return { id: p.id, data, type: 'basic', measured: MEASURED, parentId: p.parentId, position: p.position };
}

/** `2024-11-15 18:01:32.833712`: the seed's log timestamps are UTC without a zone, to the microsecond. */
export const seedLogTimestamp = (d: Date): string => d.toISOString().replace('T', ' ').replace('Z', '000');

export interface FlowRunParts {
  live: LiveRun;
  /** The definition the run ran with (flow_versions at runs.flow_version), when known. */
  definition: FlowDefinition | null;
  steps: readonly StepView[];
  logs: readonly RunLog[];
}

/**
 * The run's `endOnFail`: what the FlowRun request said (kept as the run's trigger data),
 * else the flow's own setting; runs started on other surfaces have only the latter.
 */
export function endOnFailOf(parts: Pick<FlowRunParts, 'live' | 'definition'>): boolean {
  const r = parts.live.run;
  const data = r.triggerData as { site_id?: unknown; flow_id?: unknown; configs?: { end_on_fail?: unknown } } | null;
  const fromRequest = data && data.site_id === r.appId && data.flow_id === r.flowId ? data.configs?.end_on_fail : undefined;
  if (typeof fromRequest === 'boolean') return fromRequest;
  return parts.definition?.configs?.endOnFail ?? true;
}

/** The seed 001 FlowRun object. */
export function flowRunView(parts: FlowRunParts) {
  const r = parts.live.run;
  const runStatus = presentedStatus(parts.live);
  const endOnFail = endOnFailOf(parts);
  const rows = new Map(parts.steps.map((s) => [s.stepId, s]));
  const placed = layout(parts.definition, parts.steps);
  // The seed files the run's own lines ("system starting up…") under its first node.
  const firstNode = placed[0]?.id ?? null;
  const edges = placed
    .flatMap((p) => p.parents.map((source) => ({ source, target: p.id })))
    .map((e, i) => ({ id: String(i + 1), type: 'smoothstep', style: null, source: e.source, target: e.target, animated: false }));
  return {
    id: r.id,
    user: r.actor?.name ?? null,
    account: r.accountId,
    flow: r.flowId,
    time_created: r.createdAt.toISOString(),
    title: r.flowName,
    nodes: placed.map((p) => nodeOf(p, rows.get(p.id), runStatus, endOnFail)),
    edges,
    status: toSeed001Status(runStatus),
    time_completed: r.finishedAt ? r.finishedAt.toISOString() : null,
    logs: parts.logs.map((l) => ({ timestamp: seedLogTimestamp(l.ts), message: l.message, step: l.stepId ?? firstNode })),
    site: r.appId,
    configs: { end_on_fail: endOnFail },
  };
}

export type FlowRunObject = ReturnType<typeof flowRunView>;
