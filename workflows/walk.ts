/** Walks one phase of a run's DAG (the auth flow, then the flow): every step whose dependencies have ended starts, in parallel. */
import { CancellationScope } from '@temporalio/workflow';
import type { StepStatus } from '../domain/statuses';
import { finish, type Node } from './run-graph';

const ENDED: readonly StepStatus[] = ['succeeded', 'failed', 'skipped', 'cancelled'];

/** What happens to a node whose dependencies have all ended. */
function readiness(n: Node, byKey: Map<string, Node>): 'run' | 'skip' | 'skip-after-failure' | 'wait' {
  const deps = n.deps.map((d) => byKey.get(d)!.state.status);
  if (!deps.every((s) => ENDED.includes(s))) return 'wait';
  if (deps.some((s) => s === 'failed' || s === 'cancelled')) return 'skip-after-failure';
  if (deps.length > 0 && deps.every((s) => s === 'skipped')) return 'skip';
  return 'run';
}

/**
 * Runs `phase` with `runStep`. With `endOnFail`, the first failure cancels the steps in flight and
 * skips those not started. Returns false when a failure ended the phase that way.
 *
 * A step that starts alone (nothing in flight, nothing else starting) stays alone until it ends:
 * only an ending step makes others ready. No sibling can fail beside it, so it runs without a
 * cancellation scope of its own and is awaited without a race (every promise a workflow makes
 * costs the SDK a stack capture); the run's own scope still cancels it.
 */
export async function walk(phase: Node[], endOnFail: boolean, runStep: (n: Node) => Promise<void>): Promise<boolean> {
  const byKey = new Map(phase.map((n) => [n.key, n]));
  const inflight = new Map<string, { done: Promise<string>; scope?: CancellationScope }>();
  // Steps that ended before the walk (reused by a resumed run) count as done.
  const started = new Set(phase.filter((n) => ENDED.includes(n.state.status)).map((n) => n.key));
  let stopped = false;
  for (;;) {
    const cancelled = CancellationScope.current().consideredCancelled;
    const ready: Node[] = [];
    for (const n of phase) {
      if (started.has(n.key) || cancelled || stopped) continue;
      const next = readiness(n, byKey);
      if (next === 'wait') continue;
      started.add(n.key);
      if (next === 'skip-after-failure') finish(n, 'skipped', { error: 'a step it depends on did not succeed' });
      else if (next === 'skip') finish(n, 'skipped');
      else ready.push(n);
    }
    const alone = inflight.size === 0 && ready.length === 1;
    for (const n of ready) {
      if (alone) inflight.set(n.key, { done: runStep(n).then(() => n.key) });
      else {
        const scope = new CancellationScope();
        inflight.set(n.key, { scope, done: scope.run(() => runStep(n)).then(() => n.key) });
      }
    }
    if (inflight.size === 0) {
      const waiting = phase.some((n) => !started.has(n.key) && n.deps.every((d) => started.has(d)) && !cancelled && !stopped);
      if (!waiting) break;
      continue;
    }
    const key = inflight.size === 1 ? await [...inflight.values()][0]!.done : await Promise.race([...inflight.values()].map((f) => f.done));
    inflight.delete(key);
    if (byKey.get(key)!.state.status === 'failed' && endOnFail && !stopped) {
      stopped = true;
      for (const f of inflight.values()) f.scope?.cancel();
    }
  }
  const final: StepStatus = CancellationScope.current().consideredCancelled ? 'cancelled' : 'skipped';
  for (const n of phase) if (!started.has(n.key)) finish(n, final);
  return !stopped;
}
