/**
 * Reads and decisions behind the CI-batch contract: Postgres projections first, then Temporal
 * for whatever Postgres still thinks is open (runs/reconcile.ts), then the contract's view.
 */
import type { Run } from '../../../../db/entities';
import { ConflictError, NotFoundError, UnavailableError } from '../../../../domain/errors';
import { isTerminalStep } from '../../../../domain/statuses';
import { approvalSignal, runWorkflowId } from '../../../../workflows/definitions';
import type { AuthContext, GatewayDeps, RunDeps, RunReadDeps } from '../../deps';
import * as rq from '../../runs/queries';
import type { LiveRun } from '../../runs/reconcile';
import { temporalLink } from '../../runs/temporal-links';
import { mergeSteps, type StepView } from '../../runs/views';
import * as q from './queries';
import * as v from './views';

/** A batch and its runs, reconciled; errors name the batch `batchId`. */
export async function batchStatus(deps: RunReadDeps, accountId: string, batchId: string) {
  const found = await rq.findBatchStatus(deps.dataSource, accountId, batchId);
  if (!found) throw new NotFoundError('batch', ['batchId']);
  return v.batchStatusView(found.batch, await deps.reconciler.reconcileMany(found.runs));
}

async function liveRun(deps: RunReadDeps, accountId: string, runId: string): Promise<LiveRun> {
  const run = await rq.findRun(deps.dataSource, accountId, runId);
  if (!run) throw new NotFoundError('run', ['runId']);
  return deps.reconciler.reconcileOne(run);
}

/** A run that has not started yet has produced no metrics. */
const hasStarted = (run: Run, steps: readonly StepView[]): boolean => run.startedAt !== null || steps.some((s) => s.startedAt !== null);

/** A run's results, with live step states while the workflow runs; errors name the run `runId`. */
export async function runDetail(deps: RunReadDeps & Pick<GatewayDeps, 'config'>, accountId: string, runId: string, baseUrl: string) {
  const live = await liveRun(deps, accountId, runId);
  const [rows, platform, presence] = await Promise.all([
    rq.findSteps(deps.dataSource, live.run.id),
    q.findAppPlatform(deps.dataSource, accountId, live.run.appId),
    q.artifactPresence(deps.dataSource, live.run.id),
  ]);
  const steps = mergeSteps(rows, live.progress);
  return v.runDetailView(live, steps, platform, { ...presence, started: hasStarted(live.run, steps) }, baseUrl, temporalLink(deps.config, live.run.id));
}

/** Artifacts read the rows only: they are records of what happened, not live state. */
async function runForArtifact(deps: RunReadDeps, accountId: string, runId: string): Promise<Run> {
  const run = await rq.findRun(deps.dataSource, accountId, runId);
  if (!run) throw new NotFoundError('run', ['runId']);
  return run;
}

/** JSONL lines of the run's log; NotFound when the run wrote none, as its null `log_url` says. */
export async function logLines(deps: RunReadDeps, accountId: string, runId: string): Promise<AsyncIterable<string>> {
  const run = await runForArtifact(deps, accountId, runId);
  if (!(await q.artifactPresence(deps.dataSource, run.id)).hasLog) throw new NotFoundError('log artifact');
  return (async function* () {
    for await (const chunk of q.streamLogs(deps.dataSource, run.id)) yield chunk.map((l) => JSON.stringify(v.logLine(l)) + '\n').join('');
  })();
}

export async function networkLines(deps: RunReadDeps, accountId: string, runId: string): Promise<AsyncIterable<string>> {
  const run = await runForArtifact(deps, accountId, runId);
  if (!(await q.artifactPresence(deps.dataSource, run.id)).hasRequests) throw new NotFoundError('network artifact');
  return (async function* () {
    for await (const chunk of q.streamRequests(deps.dataSource, run.id)) yield chunk.map((r) => JSON.stringify(v.requestLine(r)) + '\n').join('');
  })();
}

export async function performance(deps: RunReadDeps, accountId: string, runId: string) {
  const run = await runForArtifact(deps, accountId, runId);
  const steps = mergeSteps(await rq.findSteps(deps.dataSource, run.id), null);
  if (!hasStarted(run, steps)) throw new NotFoundError('performance artifact');
  return v.performanceView(run, steps, await q.httpTotals(deps.dataSource, run.id));
}

/**
 * Approves or rejects a waiting `approval` step: a signal to the run's workflow, and who
 * reviewed it on the run. Errors name `runId` and `stepId`.
 */
export async function decideApproval(
  deps: Pick<RunDeps, 'dataSource' | 'client' | 'projections'>,
  auth: AuthContext,
  runId: string,
  stepId: string,
  approved: boolean,
  comment?: string,
) {
  const run = await rq.findRun(deps.dataSource, auth.accountId, runId);
  if (!run) throw new NotFoundError(`run ${runId}`, ['runId']);
  const step = await rq.findStep(deps.dataSource, runId, stepId);
  if (!step) throw new NotFoundError(`step ${stepId} of run ${runId}`, ['stepId']);
  if (step.type !== 'approval') throw new ConflictError(`step ${stepId} is a ${step.type} step, not an approval`, ['stepId']);
  // A decision may arrive before the projection says `waiting`: the workflow keeps the first one per step.
  if (isTerminalStep(step.status)) throw new ConflictError(`step ${stepId} is already ${step.status}`, ['stepId']);
  const reviewer = auth.keyName;
  try {
    await deps.client.workflow.getHandle(runWorkflowId(runId)).signal(approvalSignal, { stepId, approved, reviewer, comment });
  } catch (err) {
    throw new UnavailableError(`could not deliver the decision to the run; retry: ${(err as Error).message}`);
  }
  const reviewedAt = new Date();
  await deps.projections.runReviewed(runId, reviewer, reviewedAt, auth.keyId);
  return v.decisionView({ runId, stepId, approved, reviewer, reviewedAt });
}
