/**
 * One flow run: walks the step DAG (a suite's auth flow first), parallel where the graph allows,
 * keeps its live state queryable and records its end. Deterministic: every side effect is an activity.
 */
import { ApplicationFailure, CancellationScope, CancelledFailure, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { BatchChildInput, ExpressionScope, FlowRunInput, FlowRunRef, RunProgress, RunResult } from '../domain/flow-types';
import { isOutputRef } from '../domain/output-refs';
import { redactor } from '../domain/secrets';
import type { RunSource, RunStatus } from '../domain/statuses';
import { approvalSignal, progressQuery, runIdOfWorkflow, type ApprovalDecision } from './definitions';
import { localRecord as books } from './record';
import { finish, nodesOf, row, stepsView, type Node } from './run-graph';
import { notify } from './notify';
import { runStep, type StepRunContext } from './run-step';
import { ACCOUNT_ID, BATCH_ID, RUN_SOURCE } from './search-attributes';
import { stepType } from '../steps';
import { walk } from './walk';

type RunError = NonNullable<RunResult['error']>;


/**
 * Runs `body` under the flow's timeout, if it has one; true when the timeout cut it short. Without
 * one it runs as it is: no scopes, no timer (each scope costs the SDK's stack capture of its promises).
 */
async function withFlowTimeout(timeoutMs: number | undefined, body: () => Promise<void>): Promise<boolean> {
  if (!timeoutMs) {
    await body();
    return false;
  }
  let timedOut = false;
  const dagScope = new CancellationScope();
  const timerScope = new CancellationScope();
  timerScope
    .run(() => sleep(timeoutMs))
    .then(() => {
      timedOut = true;
      dagScope.cancel();
    })
    .catch(() => undefined);
  await dagScope.run(body);
  timerScope.cancel();
  return timedOut;
}

/** The run's final status and error, from how its steps ended. */
function outcomeOf(all: Node[], timedOut: boolean, timeoutMs: number | undefined): { status: RunStatus; error: RunError | null } {
  const failed = all.find((n) => n.state.status === 'failed');
  const cancelledStep = () => all.find((n) => n.state.status === 'cancelled')?.state.name ?? '';
  if (timedOut) return { status: 'timed_out', error: { step: cancelledStep(), message: `flow timed out after ${timeoutMs}ms` } };
  if (CancellationScope.current().consideredCancelled) {
    return { status: 'cancelled', error: failed ? { step: failed.state.name, message: failed.state.error ?? 'failed' } : { step: cancelledStep(), message: 'run cancelled' } };
  }
  if (failed) return { status: 'failed', error: { step: failed.state.name, message: failed.state.error ?? 'failed' } };
  return { status: 'succeeded', error: null };
}

/** A batch's run: its ids and source from its workflow id and search attributes, where its batch put them. */
function asStarted(arg: BatchChildInput): FlowRunInput {
  const { workflowId, typedSearchAttributes: attributes } = workflowInfo();
  const batchId = attributes.get(BATCH_ID);
  const accountId = attributes.get(ACCOUNT_ID);
  const source = attributes.get(RUN_SOURCE) as RunSource | undefined;
  if (!batchId || !accountId || !source) throw ApplicationFailure.nonRetryable(`run workflow ${workflowId} has no BatchId, AccountId or RunSource search attribute`, 'RunInputIncomplete');
  return { ...arg, runId: runIdOfWorkflow(workflowId), batchId, accountId, source };
}

/**
 * A run. A batch's run comes without its ids and source (asStarted); a run of a large batch gets its
 * definitions by reference and loads them first; a sub-flow's run comes whole.
 */
export async function flowRun(arg: FlowRunInput | FlowRunRef | BatchChildInput): Promise<RunResult | undefined> {
  const started = 'runId' in arg ? arg : asStarted(arg);
  const input = 'flowRef' in started ? await books.loadRunInput(started) : started;
  const endOnFail = input.flow.configs.endOnFail ?? true;
  const auth = input.authFlow ? nodesOf(input.authFlow, 'auth.', 0) : [];
  const main = nodesOf(input.flow, '', auth.length);
  const all = [...auth, ...main];
  // A resumed run starts with the steps that passed before: succeeded, with their results.
  for (const n of all) {
    const reused = input.reused?.[n.key];
    if (reused) n.state = { ...n.state, ...reused, status: 'succeeded' };
  }
  const decisions = new Map<string, ApprovalDecision>();
  const secrets = input.secrets ?? [];
  const redact = redactor(input.variables, secrets);
  const rows = () => all.map((n) => redact(row(n)));
  let status: RunStatus = 'running';
  let error: RunError | null = null;

  setHandler(progressQuery, (): RunProgress => ({
    runId: input.runId,
    status: status === 'running' && all.some((n) => n.state.status === 'waiting') ? 'waiting' : status,
    // A large output travels as a reference; readers take the recorded output instead.
    steps: all.map((n) => redact(isOutputRef(n.state.output) ? { ...n.state, output: undefined } : n.state)),
    error,
  }));
  setHandler(approvalSignal, (d) => {
    if (!decisions.has(d.stepId)) decisions.set(d.stepId, d);
  });

  const scopeFor = (phase: Node[], isAuth: boolean): ExpressionScope => ({
    trigger: input.trigger,
    vars: input.variables,
    steps: stepsView(phase, isAuth ? 'auth.' : ''),
    auth: stepsView(auth, 'auth.'),
    run: { id: input.publicId ?? input.runId, batchId: input.batchId, flowId: input.flow.id },
  });

  // The run's start goes with the steps started until one reports it recorded, and its end with the
  // step that, succeeding, ends it; local activities record what they did not (and an agent's run).
  const inSteps = !input.agent;
  let startRecorded = !inSteps;
  let endRecorded = false;
  const runsInActivity = (n: Node) => stepType(n.step.type)?.runsIn === 'activity';
  const endsRun = (n: Node) =>
    runsInActivity(n) &&
    main.includes(n) &&
    !CancellationScope.current().consideredCancelled &&
    all.every((o) => o === n || o.state.status === 'succeeded' || o.state.status === 'skipped');
  const carry: StepRunContext['carry'] = inSteps
    ? {
        records: (n) => {
          // The rows the other steps' own activities did not write: skipped steps and the workflow's own.
          const finish = endsRun(n) ? all.filter((o) => o !== n && (o.state.status !== 'succeeded' || !runsInActivity(o))).map((o) => redact(row(o))) : undefined;
          if (startRecorded && !finish) return undefined;
          return { ...(startRecorded ? {} : { start: rows() }), ...(finish ? { finish } : {}) };
        },
        recorded: (r) => {
          if (r?.start) startRecorded = true;
          if (r?.finish) endRecorded = true;
        },
      }
    : undefined;
  const runPhase = (phase: Node[], isAuth: boolean) =>
    walk(phase, endOnFail, (n) =>
      runStep(n, { runId: input.runId, scope: scopeFor(phase, isAuth), secrets, redact, decisionFor: (key) => decisions.get(key), agent: input.agent, run: input, carry }),
    );

  if (!inSteps) await books.recordRunStarted({ runId: input.runId, steps: rows() });

  const timeoutMs = input.flow.configs.timeoutMs;
  const timedOut = await withFlowTimeout(timeoutMs, async () => {
    if ((await runPhase(auth, true)) || auth.length === 0) await runPhase(main, false);
    else for (const n of main) finish(n, 'skipped', { error: 'the suite auth flow failed' });
  });

  ({ status, error } = outcomeOf(all, timedOut, timeoutMs));
  error = redact(error);
  const outputs = Object.fromEntries(main.filter((n) => n.state.status === 'succeeded').map((n) => [n.key, n.state.output ?? null]));
  if (!(endRecorded && status === 'succeeded'))
    await CancellationScope.nonCancellable(async () => {
      if (!startRecorded) await books.recordRunStarted({ runId: input.runId, steps: rows() });
      await books.recordRunFinished({ runId: input.runId, status, error, outputs: redact(outputs), steps: rows() });
    });
  await notify(`notify-run-${input.runId}`, input.accountId, input.runId, input.flow.notify, {
    event: 'run.finished',
    batch_id: input.batchId,
    run_id: input.publicId ?? input.runId,
    status,
    error,
  });

  if (status === 'cancelled') throw new CancelledFailure('run cancelled');
  if (status === 'failed') throw ApplicationFailure.create({ message: `${error?.step}: ${error?.message}`, type: 'RunFailed', nonRetryable: true });
  if (status === 'timed_out') throw ApplicationFailure.create({ message: error?.message ?? 'timed out', type: 'RunTimedOut', nonRetryable: true });
  // Only a parent's `flow` step reads the outputs from the result (a sub-flow has an ancestry). A batch's
  // run ends with no result: it succeeded (every other end throws), and its record holds the outputs, so
  // nothing is carried twice more (the child's and the batch's histories) for every run of a batch.
  return input.ancestry?.length ? { runId: input.runId, status, error: null, outputs } : undefined;
}
