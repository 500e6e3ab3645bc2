/**
 * One flow run: walks the step DAG (a suite's auth flow first), parallel where the graph
 * allows, and keeps its live state queryable. Deterministic: every side effect is an activity.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  condition,
  isCancellation,
  proxyActivities,
  setHandler,
  sleep,
} from '@temporalio/workflow';
import type { Activities, StepCall, StepFailureDetails, StepOutcome } from '../activities';
import { dependenciesOf } from '../domain/dag';
import type { ExpressionScope, FlowDefinition, FlowRunInput, RunProgress, RunResult, StepDefinition, StepState } from '../domain/flow-types';
import type { RunStatus, StepStatus } from '../domain/statuses';
import { approvalSignal, progressQuery, type ApprovalDecision } from './definitions';

const DEFAULT_RETRY = { maxAttempts: 3, initialIntervalMs: 1000, backoffCoefficient: 2 };
const NON_RETRYABLE = ['HttpStatusError', 'MissingVariable', 'ExpressionError', 'InvalidRequest', 'UnsupportedStep'];

const record = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

interface Node {
  key: string;
  step: StepDefinition;
  deps: string[];
  position: number;
  state: StepState;
}

function nodesOf(flow: FlowDefinition, prefix: string, offset: number): Node[] {
  return flow.steps.map((step, i) => ({
    key: prefix + step.id,
    step,
    deps: dependenciesOf(flow.steps, i).map((d) => prefix + d),
    position: offset + i,
    state: { id: prefix + step.id, name: step.name ?? step.id, type: step.type, status: 'queued', attempts: 0 },
  }));
}

const row = (n: Node) => ({ ...n.state, position: n.position });
const nowIso = () => new Date().toISOString();

function failureMessage(err: unknown): { message: string; details?: StepFailureDetails } {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure)
    return { message: cause.message, details: cause.details?.[0] as StepFailureDetails | undefined };
  return { message: (cause as Error)?.message ?? String(cause) };
}

export async function flowRun(input: FlowRunInput): Promise<RunResult> {
  const endOnFail = input.flow.configs.endOnFail ?? true;
  const auth = input.authFlow ? nodesOf(input.authFlow, 'auth.', 0) : [];
  const main = nodesOf(input.flow, '', auth.length);
  const all = [...auth, ...main];
  const decisions = new Map<string, ApprovalDecision>();
  let status: RunStatus = 'running';
  let error: RunResult['error'] = null;

  setHandler(progressQuery, (): RunProgress => ({
    runId: input.runId,
    status: status === 'running' && all.some((n) => n.state.status === 'waiting') ? 'waiting' : status,
    steps: all.map((n) => n.state),
    error,
  }));
  setHandler(approvalSignal, (d) => {
    if (!decisions.has(d.stepId)) decisions.set(d.stepId, d);
  });

  const scopeFor = (phase: Node[], isAuth: boolean): ExpressionScope => {
    const view = (nodes: Node[], prefix: string) =>
      Object.fromEntries(nodes.map((n) => [n.key.slice(prefix.length), { status: n.state.status, output: n.state.output ?? null }]));
    return {
      trigger: input.trigger,
      vars: input.variables,
      steps: view(phase, isAuth ? 'auth.' : ''),
      auth: view(auth, 'auth.'),
      run: { id: input.runId, batchId: input.batchId, flowId: input.flow.id },
    };
  };

  const finish = (n: Node, s: StepStatus, extra: Partial<StepState> = {}) => {
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
  };

  async function runStep(n: Node, phase: Node[], isAuth: boolean): Promise<void> {
    const call: StepCall = { runId: input.runId, key: n.key, position: n.position, step: n.step, scope: scopeFor(phase, isAuth) };
    n.state = { ...n.state, status: 'running', startedAt: nowIso() };
    try {
      if (n.step.type === 'http' || n.step.type === 'transform') {
        const retry = { ...DEFAULT_RETRY, ...n.step.retry };
        const timeoutMs = n.step.type === 'http' ? (n.step.config.timeoutMs ?? 30_000) + 10_000 : 60_000;
        const acts = proxyActivities<Activities>({
          startToCloseTimeout: timeoutMs,
          retry: {
            maximumAttempts: retry.maxAttempts,
            initialInterval: retry.initialIntervalMs,
            backoffCoefficient: retry.backoffCoefficient,
            nonRetryableErrorTypes: NON_RETRYABLE,
          },
        });
        const outcome: StepOutcome = await acts.executeStep(call);
        if (outcome.skipped) return finish(n, 'skipped');
        const { skipped: _s, ...rest } = outcome;
        n.state = { ...n.state, ...rest, status: 'succeeded' };
        return;
      }
      const prepared = await record.prepareStep(call);
      if (prepared.skipped) {
        finish(n, 'skipped');
      } else if (n.step.type === 'delay') {
        const until = prepared.config.until ? Date.parse(String(prepared.config.until)) : NaN;
        const ms = Number.isFinite(until) ? Math.max(0, until - Date.now()) : Number(prepared.config.durationMs ?? 0);
        if (!Number.isFinite(ms) || ms < 0) throw ApplicationFailure.nonRetryable(`delay is not a duration: ${String(prepared.config.durationMs ?? prepared.config.until)}`);
        await sleep(ms);
        finish(n, 'succeeded', { attempts: 1, output: { delayedMs: ms } });
      } else if (n.step.type === 'approval') {
        n.state = { ...n.state, status: 'waiting', attempts: 1 };
        await record.recordSteps({ runId: input.runId, steps: [row(n)], runStatus: 'waiting' });
        const timeoutMs = Number(prepared.config.timeoutMs ?? 0);
        const decided = timeoutMs > 0 ? await condition(() => decisions.has(n.key), timeoutMs) : (await condition(() => decisions.has(n.key)), true);
        const d = decisions.get(n.key);
        if (!decided || !d) throw ApplicationFailure.nonRetryable(`no decision within ${timeoutMs}ms`);
        const output = { approved: d.approved, reviewer: d.reviewer, comment: d.comment ?? null };
        if (!d.approved) finish(n, 'failed', { output, error: `rejected by ${d.reviewer}${d.comment ? `: ${d.comment}` : ''}` });
        else finish(n, 'succeeded', { output });
        await record.recordSteps({ runId: input.runId, steps: [row(n)], runStatus: 'running' });
        return;
      } else {
        throw ApplicationFailure.nonRetryable(`step type ${n.step.type} is not supported by this engine version`);
      }
      await record.recordSteps({ runId: input.runId, steps: [row(n)] });
    } catch (err) {
      if (isCancellation(err)) {
        finish(n, 'cancelled');
        return;
      }
      const { message, details } = failureMessage(err);
      finish(n, 'failed', { error: message, attempts: details?.attempts ?? Math.max(1, n.state.attempts), startedAt: details?.startedAt ?? n.state.startedAt });
      await CancellationScope.nonCancellable(() => record.recordSteps({ runId: input.runId, steps: [row(n)] }));
    }
  }

  /** Walks one phase's DAG; returns false when a failure ends the run (endOnFail). */
  async function walk(phase: Node[], isAuth: boolean): Promise<boolean> {
    const byKey = new Map(phase.map((n) => [n.key, n]));
    const inflight = new Map<string, { done: Promise<string>; scope: CancellationScope }>();
    const started = new Set<string>();
    let stopped = false;
    for (;;) {
      const cancelled = CancellationScope.current().consideredCancelled;
      for (const n of phase) {
        if (started.has(n.key)) continue;
        const deps = n.deps.map((d) => byKey.get(d)!.state.status);
        if (cancelled || stopped) continue;
        if (!deps.every((s) => s === 'succeeded' || s === 'failed' || s === 'skipped' || s === 'cancelled')) continue;
        started.add(n.key);
        if (deps.some((s) => s === 'failed' || s === 'cancelled')) {
          finish(n, 'skipped', { error: 'a step it depends on did not succeed' });
          continue;
        }
        if (deps.length > 0 && deps.every((s) => s === 'skipped')) {
          finish(n, 'skipped');
          continue;
        }
        const scope = new CancellationScope();
        inflight.set(n.key, { scope, done: scope.run(() => runStep(n, phase, isAuth)).then(() => n.key) });
      }
      if (inflight.size === 0) {
        const waiting = phase.some((n) => !started.has(n.key) && n.deps.every((d) => started.has(d)) && !cancelled && !stopped);
        if (!waiting) break;
        continue;
      }
      const key = await Promise.race([...inflight.values()].map((f) => f.done));
      inflight.delete(key);
      if (byKey.get(key)!.state.status === 'failed' && endOnFail && !stopped) {
        stopped = true;
        for (const f of inflight.values()) f.scope.cancel();
      }
    }
    const final: StepStatus = CancellationScope.current().consideredCancelled ? 'cancelled' : 'skipped';
    for (const n of phase) if (!started.has(n.key)) finish(n, final);
    return !stopped;
  }

  await record.recordRunStarted({ runId: input.runId, steps: all.map(row) });

  const timeoutMs = input.flow.configs.timeoutMs;
  let timedOut = false;
  const dagScope = new CancellationScope();
  const timerScope = new CancellationScope();
  if (timeoutMs)
    timerScope
      .run(() => sleep(timeoutMs))
      .then(() => {
        timedOut = true;
        dagScope.cancel();
      })
      .catch(() => undefined);
  await dagScope.run(async () => {
    if ((await walk(auth, true)) || auth.length === 0) await walk(main, false);
    else for (const n of main) finish(n, 'skipped', { error: 'the suite auth flow failed' });
  });
  timerScope.cancel();

  const failed = all.find((n) => n.state.status === 'failed');
  const rootCancelled = CancellationScope.current().consideredCancelled;
  status = timedOut ? 'timed_out' : rootCancelled ? 'cancelled' : failed ? 'failed' : 'succeeded';
  if (timedOut) error = { step: all.find((n) => n.state.status === 'cancelled')?.state.name ?? '', message: `flow timed out after ${timeoutMs}ms` };
  else if (failed) error = { step: failed.state.name, message: failed.state.error ?? 'failed' };
  else if (rootCancelled) error = { step: all.find((n) => n.state.status === 'cancelled')?.state.name ?? '', message: 'run cancelled' };

  const outputs = Object.fromEntries(main.filter((n) => n.state.status === 'succeeded').map((n) => [n.key, n.state.output ?? null]));
  await CancellationScope.nonCancellable(() =>
    record.recordRunFinished({ runId: input.runId, status, error, outputs, steps: all.map(row) }),
  );

  if (status === 'cancelled') throw new CancelledFailure('run cancelled');
  if (status === 'failed') throw ApplicationFailure.create({ message: `${error?.step}: ${error?.message}`, type: 'RunFailed', nonRetryable: true });
  if (status === 'timed_out') throw ApplicationFailure.create({ message: error?.message ?? 'timed out', type: 'RunTimedOut', nonRetryable: true });
  return { runId: input.runId, status, error: null };
}
