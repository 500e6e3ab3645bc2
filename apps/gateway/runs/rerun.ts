/**
 * Rerun and resume: a new batch whose runs repeat earlier runs with the same flow version, inputs
 * and variables. Those are read back from each run's workflow history (Postgres keeps secret values
 * masked; Temporal keeps them encrypted). A resumed run starts from its predecessor's failed step:
 * the steps that passed start succeeded with their recorded outputs and are not executed again.
 * Errors name the run `runId` and the batch `batchId`.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import { decodeArrayFromPayloads, loadDataConverter } from '@temporalio/common/lib/internal-non-workflow';
import { z } from 'zod';
import type { Run } from '../../../db/entities';
import { insertBatchRows } from '../../../db/projections';
import { keptOutputSizes } from '../../../db/step-records';
import { ConflictError, NotFoundError, UnavailableError, type FieldPath } from '../../../domain/errors';
import type { BatchChildInput, BatchRunInput, FlowRunInput, FlowRunRef, ReusedStep } from '../../../domain/flow-types';
import { runInputOf } from '../../../db/batch-plans';
import type { OutputRef } from '../../../domain/output-refs';
import { isTerminalRun, type RunSource, type RunStatus } from '../../../domain/statuses';
import { runWorkflowId } from '../../../workflows/definitions';
import { dataConverterFor } from '../../../platform/payload-codec';
import type { AuthContext, RunDeps } from '../deps';
import * as q from './queries';
import { launchBatch } from './trigger';
import { presentedStatus } from './views';

const TEMPORAL_TIMEOUT_MS = 10_000;
/** Runs that did not pass: what `only: failed` reruns and what may be resumed. */
const NOT_PASSED: readonly RunStatus[] = ['failed', 'cancelled', 'timed_out'];

export const rerunSchema = z.object({ batch_id: z.string(), runs: z.array(z.object({ id: z.string(), rerun_of: z.string() })) });
export const resumeSchema = z.object({
  batch_id: z.string(),
  runs: z.array(z.object({ id: z.string(), resumed_from: z.string(), reused_steps: z.array(z.string()) })),
});

/** The input the run's workflow was started with, from its history. */
async function originalInput(deps: RunDeps, run: Run, field: FieldPath): Promise<FlowRunInput> {
  if (run.external) throw new ConflictError(`run ${run.publicId} was reported by an external executor; it cannot be run again here`, field);
  let history;
  try {
    history = await deps.client.withDeadline(Date.now() + TEMPORAL_TIMEOUT_MS, () =>
      deps.client.workflow.getHandle(run.workflowId ?? runWorkflowId(run.id)).fetchHistory(),
    );
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      throw new ConflictError(`run ${run.publicId} has not started, or its history is past Temporal's retention; trigger its flow again instead`, field);
    throw new UnavailableError(`Temporal is not reachable right now; retry (${(err as Error).message})`);
  }
  const payloads = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads;
  const [decoded] = (await decodeArrayFromPayloads(loadDataConverter(dataConverterFor(deps.config.payloadKeys)), payloads)) as (FlowRunInput | FlowRunRef | BatchChildInput)[];
  // A batch's run was started without its ids and source (its workflow reads them from its id and search attributes): its row has them.
  const started = decoded && !('runId' in decoded) ? { ...decoded, runId: run.id, batchId: run.batchId ?? '', accountId: run.accountId, source: run.source as RunSource } : decoded;
  // A run of a large batch was started with its definitions by reference, as the run itself loads them.
  const input = started && 'flowRef' in started ? await runInputOf(deps.dataSource, started) : started;
  if (!input?.flow) throw new ConflictError(`run ${run.publicId}'s workflow input could not be read back`, field);
  return input;
}

/** The steps that passed in `run`, as a resumed run reuses them; a large output by reference to where it is kept. */
async function passedSteps(deps: RunDeps, run: Run): Promise<Record<string, ReusedStep>> {
  const rows = (await q.findSteps(deps.dataSource, run.id)).filter((s) => s.status === 'succeeded');
  const kept = await keptOutputSizes(deps.dataSource, run.id);
  return Object.fromEntries(
    rows.map((s) => {
      const bytes = kept.get(s.stepId);
      const ref: OutputRef | undefined = bytes === undefined ? undefined : { $outputRef: { runId: run.id, stepId: s.stepId, bytes } };
      const reused: ReusedStep = {
        output: ref ?? s.output,
        attempts: s.attempts,
        ...(s.startedAt ? { startedAt: s.startedAt.toISOString() } : {}),
        ...(s.finishedAt ? { finishedAt: s.finishedAt.toISOString() } : {}),
        ...(s.durationMs !== null ? { durationMs: s.durationMs } : {}),
      };
      return [s.stepId, reused];
    }),
  );
}

/** Records and starts a batch of `runs` (already given their new ids), as a trigger does. */
async function startRerunBatch(deps: RunDeps, auth: AuthContext, batchId: string, from: Run, runs: FlowRunInput[]): Promise<void> {
  const input: BatchRunInput = {
    batchId,
    accountId: auth.accountId,
    source: 'rerun',
    maxParallel: Math.max(1, runs.length),
    meta: {
      actor: { id: auth.keyId, name: auth.keyName, type: 'user' },
      appId: from.appId,
      buildId: from.buildId,
      browser: from.browser,
      tags: from.tags ?? [],
      idempotencyKey: null,
      requestHash: null,
    },
    runs,
  };
  await deps.dataSource.transaction((m) => insertBatchRows(m, input));
  await launchBatch(deps, input, false);
}

/** A fresh run of `old`'s input in batch `batchId` at `position`. */
const again = (old: FlowRunInput, batchId: string, position: number, extra: Partial<FlowRunInput>): FlowRunInput => {
  const { publicId: _p, rerunOf: _r, resumedFrom: _f, reused: _u, ...rest } = old;
  return { ...rest, runId: randomUUID(), batchId, position, source: 'rerun', ...extra };
};

async function rerun(deps: RunDeps, auth: AuthContext, runs: Run[], field: FieldPath): Promise<z.infer<typeof rerunSchema>> {
  const inputs = await Promise.all(runs.map((r) => originalInput(deps, r, field)));
  const batchId = randomUUID();
  const fresh = inputs.map((old, i) => again(old, batchId, i, { rerunOf: runs[i].publicId }));
  await startRerunBatch(deps, auth, batchId, runs[0], fresh);
  return { batch_id: batchId, runs: fresh.map((r) => ({ id: r.runId, rerun_of: r.rerunOf! })) };
}

/** `POST /api/v1/runs/{runId}/rerun`: the run again, same flow version, inputs and variables. */
export async function rerunRun(deps: RunDeps, auth: AuthContext, runId: string): Promise<z.infer<typeof rerunSchema>> {
  const run = await q.findRun(deps.dataSource, auth.accountId, runId);
  if (!run) throw new NotFoundError('run', ['runId']);
  return rerun(deps, auth, [run], ['runId']);
}

/** `POST /api/v1/batches/{batchId}/rerun`: its failed, cancelled and timed-out runs (`failed`) or all of them, as a new batch. */
export async function rerunBatch(deps: RunDeps, auth: AuthContext, batchId: string, only: 'failed' | 'all'): Promise<z.infer<typeof rerunSchema>> {
  const batch = await q.findBatch(deps.dataSource, auth.accountId, batchId);
  if (!batch) throw new NotFoundError('batch', ['batchId']);
  const live = await deps.reconciler.reconcileMany(await q.findBatchRuns(deps.dataSource, batch.id));
  const statuses = live.map(presentedStatus);
  if (!statuses.every(isTerminalRun)) throw new ConflictError('batch is still running; rerun it once it has finished', ['batchId']);
  const picked = live.filter((l, i) => only === 'all' || NOT_PASSED.includes(statuses[i])).map((l) => l.run);
  if (picked.length === 0) throw new ConflictError('no run of this batch failed, was cancelled or timed out; rerun with only: all to repeat it', ['only']);
  return rerun(deps, auth, picked, ['batchId']);
}

/**
 * `POST /api/v1/runs/{runId}/resume`: a new run that starts where the run failed. The steps that
 * passed keep their recorded outputs (secret values in them stay masked); `env` changes variables.
 */
export async function resumeRun(deps: RunDeps, auth: AuthContext, runId: string, env: Record<string, string> = {}): Promise<z.infer<typeof resumeSchema>> {
  const run = await q.findRun(deps.dataSource, auth.accountId, runId);
  if (!run) throw new NotFoundError('run', ['runId']);
  const status = presentedStatus(await deps.reconciler.reconcileOne(run));
  if (!NOT_PASSED.includes(status))
    throw new ConflictError(`run is ${status}; only a failed, cancelled or timed-out run can be resumed (rerun it instead)`, ['runId']);
  const [old, reused] = await Promise.all([originalInput(deps, run, ['runId']), passedSteps(deps, run)]);
  const batchId = randomUUID();
  const fresh = again(old, batchId, 0, { resumedFrom: run.publicId, reused, variables: { ...old.variables, ...env } });
  await startRerunBatch(deps, auth, batchId, run, [fresh]);
  return { batch_id: batchId, runs: [{ id: fresh.runId, resumed_from: run.publicId, reused_steps: Object.keys(reused) }] };
}
