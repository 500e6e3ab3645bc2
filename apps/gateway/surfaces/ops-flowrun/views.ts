/**
 * A platform run spelled as a FlowRun object (docs/api-contracts.md): the run's flow drawn as a
 * React-Flow graph (`nodes` with their live step state, `edges` from `dependsOn`), its log and
 * its site (app). Pure mapping from the shared read model, so this surface cannot disagree with
 * the others.
 */
import { z } from 'zod';
import type { RunLog } from '../../../../db/entities';
import { dependenciesOf } from '../../../../domain/dag';
import type { FlowDefinition, StepDefinition } from '../../../../domain/flow-types';
import { flowRunObjectStatus, isTerminalRun, isTerminalStep } from '../../../../domain/statuses';
import type { RunStatus, StepStatus } from '../../../../domain/statuses';
import { wants } from '../../../../domain/webhooks';
import type { LiveRun } from '../../runs/reconcile';
import { browserDetailsOf, presentedStatus, type StepView } from '../../runs/views';
import { artifactFileUrl } from '../../visual/use-cases';

const isoOrNull = z.string().nullable();
const position = z.object({ x: z.number(), y: z.number() });
const NODE_STATUSES = ['queued', 'working', 'passed', 'failed', 'skipped', 'cancelled'] as const;
const RUN_OBJECT_STATUSES = ['queued', 'working', 'passed', 'failed', 'cancelled'] as const;

const nodeSchema = z.object({
  id: z.string(),
  type: z.literal('basic'),
  measured: z.object({ width: z.number(), height: z.number() }),
  parentId: z.string().nullable(),
  position,
  data: z
    .object({
      id: z.string(),
      name: z.string(),
      status: z.enum(NODE_STATUSES),
      task_type: z.string(),
      configs: z.record(z.string(), z.unknown()),
      parentId: z.string().nullable(),
      position,
      message: z.string(),
      request_type: z.string().nullable(),
      uri: z.string(),
      headers: z.string(),
      payload: z.string(),
      start_if: z.string().nullable(),
      finalized: z.boolean(),
      attempts: z.number(),
      output: z.unknown(),
      time_started: isoOrNull,
      time_completed: isoOrNull,
    })
    .loose(),
});

export const flowRunObjectSchema = z.object({
  id: z.string(),
  user: z.string().nullable(),
  account: z.string(),
  flow: z.string(),
  time_created: z.string(),
  title: z.string(),
  nodes: z.array(nodeSchema),
  edges: z.array(
    z.object({ id: z.string(), type: z.literal('smoothstep'), style: z.null(), source: z.string(), target: z.string(), animated: z.boolean() }),
  ),
  status: z.enum(RUN_OBJECT_STATUSES),
  time_completed: isoOrNull,
  logs: z.array(z.object({ timestamp: z.string(), message: z.string(), step: z.string().nullable() })),
  site: z.string(),
  configs: z.object({ end_on_fail: z.boolean() }),
});
export type FlowRunObject = z.infer<typeof flowRunObjectSchema>;

export const flowRunPageSchema = z.object({ count: z.number(), next: isoOrNull, previous: isoOrNull, results: z.array(flowRunObjectSchema) });

/** Vertical distance between DAG levels, as the contract's example draws a two-step flow (y 0, then 150). */
const LEVEL_HEIGHT = 150;
/** Horizontal distance between steps on the same level, wider than a 272px node. */
const SIBLING_WIDTH = 300;
/** The contract's node size; the platform draws nothing itself, so it reports that one. */
const MEASURED = { width: 272, height: 48 } as const;
/**
 * Fields of the contract's scan/notification editor that have no counterpart in a platform step,
 * carried with their defaults so that its clients still parse every node.
 */
const EDITOR_FIELDS = {
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

/** A node has no word for `running` or `waiting` either: both are "working". */
const nodeStatus = (s: StepStatus) =>
  (s === 'skipped' ? 'skipped' : flowRunObjectStatus(s as RunStatus)) as (typeof NODE_STATUSES)[number];

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
function layout(definition: FlowDefinition | null, rows: readonly StepView[]): Placed[] {
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

function nodeOf(p: Placed, row: StepView | undefined, runStatus: RunStatus, endOnFail: boolean, fileUrl: (stepId: string, file: string) => string): z.infer<typeof nodeSchema> {
  const step = p.step;
  const http = step?.type === 'http' ? step.config : null;
  const scan = step?.type === 'scan' ? step.config : null;
  const details = browserDetailsOf(row);
  const status = row?.status ?? unrecordedStatus(runStatus);
  const data = {
    ...EDITOR_FIELDS,
    // A scan node shows what it captures and the similarity it must reach.
    ...(scan ? { type: [...scan.types], threshold: scan.threshold } : {}),
    id: p.id,
    name: step?.name ?? row?.name ?? p.id,
    uri: http?.url ?? (step?.type === 'scan' || step?.type === 'browser' ? step.config.url : ''),
    status: nodeStatus(status),
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
    ...(details ? { screenshots: details.screenshots.map((s) => ({ name: s.name, url: fileUrl(p.id, `${s.name}.png`), similarity: s.vrt?.similarity ?? null, threshold: s.vrt?.threshold ?? null })) } : {}),
  };
  return { id: p.id, data, type: 'basic', measured: { ...MEASURED }, parentId: p.parentId, position: p.position };
}

/**
 * The flow's `notify` webhooks as the seed's `slack` nodes, after the steps that end the run; their
 * state is read from the delivery lines in the run's log.
 */
function notifyNodes(definition: FlowDefinition | null, placed: Placed[], logs: readonly RunLog[], runStatus: RunStatus): { nodes: z.infer<typeof nodeSchema>[]; edges: { source: string; target: string }[] } {
  const targets = definition?.notify ?? [];
  if (targets.length === 0) return { nodes: [], edges: [] };
  const sinks = placed.filter((p) => !placed.some((q) => q.parents.includes(p.id))).map((p) => p.id);
  const y = Math.max(0, ...placed.map((p) => p.position.y)) + LEVEL_HEIGHT;
  const nodes = targets.map((t, i) => {
    const id = `notify-${i + 1}`;
    const lines = logs.filter((l) => l.message.startsWith(`webhook run.finished to ${t.url}:`));
    const last = lines[lines.length - 1];
    const status: StepStatus = last
      ? last.message.includes(': delivered')
        ? 'succeeded'
        : last.message.includes('giving up')
          ? 'failed'
          : 'running'
      : isTerminalRun(runStatus) && !wants(t, runStatus)
        ? 'skipped'
        : 'queued';
    const position = { x: i * SIBLING_WIDTH, y };
    const data = {
      ...EDITOR_FIELDS,
      id,
      name: `Notify ${t.url}`,
      uri: t.url,
      status: nodeStatus(status),
      configs: { url: t.url, on: t.on },
      headers: '{}',
      message: last?.message ?? '',
      payload: '{}',
      parentId: sinks[0] ?? null,
      position,
      start_if: null,
      finalized: isTerminalStep(status),
      task_type: 'slack',
      request_type: 'POST',
      attempts: lines.length,
      output: null,
      time_started: lines[0]?.ts.toISOString() ?? null,
      time_completed: last && status !== 'running' ? last.ts.toISOString() : null,
    };
    return { id, data, type: 'basic' as const, measured: { ...MEASURED }, parentId: sinks[0] ?? null, position };
  });
  return { nodes, edges: nodes.flatMap((n) => sinks.map((source) => ({ source, target: n.id }))) };
}

/** `2024-11-15 18:01:32.833712`: log timestamps are UTC without a zone, to the microsecond. */
const logTimestamp = (d: Date): string => d.toISOString().replace('T', ' ').replace('Z', '000');

interface FlowRunParts {
  live: LiveRun;
  /** The definition the run ran with (flow_versions at runs.flow_version), when known. */
  definition: FlowDefinition | null;
  steps: readonly StepView[];
  logs: readonly RunLog[];
  /** The API's base URL, for the links to screenshots. */
  baseUrl: string;
}

/**
 * The run's `endOnFail`: what the FlowRun request said (kept as the run's trigger data),
 * else the flow's own setting; runs started on other surfaces have only the latter.
 */
function endOnFailOf(parts: Pick<FlowRunParts, 'live' | 'definition'>): boolean {
  const r = parts.live.run;
  const data = r.triggerData as { site_id?: unknown; flow_id?: unknown; configs?: { end_on_fail?: unknown } } | null;
  const fromRequest = data && data.site_id === r.appId && data.flow_id === r.flowId ? data.configs?.end_on_fail : undefined;
  if (typeof fromRequest === 'boolean') return fromRequest;
  return parts.definition?.configs?.endOnFail ?? true;
}

/** The FlowRun object. */
export function flowRunView(parts: FlowRunParts): FlowRunObject {
  const r = parts.live.run;
  const runStatus = presentedStatus(parts.live);
  const endOnFail = endOnFailOf(parts);
  const rows = new Map(parts.steps.map((s) => [s.stepId, s]));
  const placed = layout(parts.definition, parts.steps);
  // The run's own lines ("system starting up…") are filed under its first node.
  const firstNode = placed[0]?.id ?? null;
  const notify = notifyNodes(parts.definition, placed, parts.logs, runStatus);
  const edges = [...placed.flatMap((p) => p.parents.map((source) => ({ source, target: p.id }))), ...notify.edges].map((e, i) => ({
    id: String(i + 1),
    type: 'smoothstep' as const,
    style: null,
    source: e.source,
    target: e.target,
    animated: false,
  }));
  return {
    id: r.publicId,
    user: r.actor?.name ?? null,
    account: r.accountId,
    flow: r.flowId,
    time_created: r.createdAt.toISOString(),
    title: r.flowName,
    nodes: [...placed.map((p) => nodeOf(p, rows.get(p.id), runStatus, endOnFail, (stepId, file) => artifactFileUrl(parts.baseUrl, r.publicId, stepId, file))), ...notify.nodes],
    edges,
    status: flowRunObjectStatus(runStatus) as FlowRunObject['status'],
    time_completed: r.finishedAt ? r.finishedAt.toISOString() : null,
    logs: parts.logs.map((l) => ({ timestamp: logTimestamp(l.ts), message: l.message, step: l.stepId ?? firstNode })),
    site: r.appId!,
    configs: { end_on_fail: endOnFail },
  };
}


/** The path of the collection, which every absolute `next` / `previous` link points at. */
export const FLOWRUN_PATH = '/v1/ops/flowrun';

const pageUrl = (baseUrl: string, limit: number, offset: number, siteId?: string): string => {
  const query = new URLSearchParams({ limit: String(limit), offset: String(offset) });
  if (siteId !== undefined) query.set('site_id', siteId);
  return `${baseUrl}${FLOWRUN_PATH}?${query.toString()}`;
};

/** A limit/offset page with absolute links to its neighbours. */
export function flowRunPageView(
  page: { count: number; results: FlowRunObject[] },
  at: { limit: number; offset: number; siteId?: string },
  baseUrl: string,
): z.infer<typeof flowRunPageSchema> {
  const { limit, offset, siteId } = at;
  return {
    count: page.count,
    next: offset + limit < page.count ? pageUrl(baseUrl, limit, offset + limit, siteId) : null,
    previous: offset > 0 ? pageUrl(baseUrl, limit, Math.max(0, offset - limit), siteId) : null,
    results: page.results,
  };
}
