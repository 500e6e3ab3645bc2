/** The step graph of one run as the workflow tracks it: one node per step, its live state, and how a node ends. */
import { dependenciesOf } from '../domain/dag';
import type { FlowDefinition, StepDefinition, StepState } from '../domain/flow-types';
import type { StepStatus } from '../domain/statuses';

export interface Node {
  /** The id the step is recorded under: `auth.<id>` for a suite's auth steps. */
  key: string;
  step: StepDefinition;
  deps: string[];
  position: number;
  state: StepState;
}

/** Nodes of a flow's steps, keys prefixed (`auth.` for an auth flow), positions from `offset`. */
export function nodesOf(flow: FlowDefinition, prefix: string, offset: number): Node[] {
  return flow.steps.map((step, i) => ({
    key: prefix + step.id,
    step,
    deps: dependenciesOf(flow.steps, i).map((d) => prefix + d),
    position: offset + i,
    state: { id: prefix + step.id, name: step.name ?? step.id, type: step.type, status: 'queued', attempts: 0 },
  }));
}

/** A node as the projection activities record it. */
export const row = (n: Node) => ({ ...n.state, position: n.position });

export const nowIso = (): string => new Date().toISOString();

/** Ends a node: a skipped step has no timing; any other gets its finish time and duration. */
export function finish(n: Node, s: StepStatus, extra: Partial<StepState> = {}): void {
  if (s === 'skipped') {
    n.state = { ...n.state, ...extra, status: s, startedAt: undefined, finishedAt: undefined, durationMs: undefined };
    return;
  }
  const finishedAt = extra.finishedAt ?? nowIso();
  const startedAt = extra.startedAt ?? n.state.startedAt;
  n.state = {
    ...n.state,
    ...extra,
    status: s,
    finishedAt,
    startedAt,
    durationMs: startedAt ? Date.parse(finishedAt) - Date.parse(startedAt) : undefined,
  };
}

/** `{ <id>: { status, output } }` of a phase's nodes, ids without their prefix, as expressions read them. */
export const stepsView = (nodes: readonly Node[], prefix: string) =>
  Object.fromEntries(nodes.map((n) => [n.key.slice(prefix.length), { status: n.state.status, output: n.state.output ?? null }]));
