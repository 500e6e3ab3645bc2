/**
 * Accepting a trigger: the batch prepared (core/batches.ts), its rows written, and its workflow
 * started — all or nothing, and at most once per idempotency key.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { In } from 'typeorm';
import { BatchEntity, RunEntity } from '../../../db/entities';
import { platformSecret } from '../../../db/data-source';
import { insertBatchRows } from '../../../db/projections';
import { ConflictError, IdempotencyMismatchError, InvalidError, UnavailableError } from '../../../domain/errors';
import type { BatchRunInput, FlowRunInput } from '../../../domain/flow-types';
import { batchFlowIds, workflowInput } from '../../../domain/batch-plan';
import { existingBatch, idempotentId, prepareBatch, requestHash, type TriggeredBatch, type TriggerRequest } from '../../../core/batches';
import type { BatchRunWorkflow } from '../../../workflows/contract';
import { batchWorkflowId, WorkflowTypes } from '../../../workflows/definitions';
import { ACCOUNT_ID, BATCH_ID, FLOW_ID, labelAttributes, RUN_SOURCE } from '../../../workflows/search-attributes';
import { batchSummary } from '../../../workflows/summaries';
import { annotateSpan, BATCH_ID_ATTR, RUN_ID_ATTR } from '../../../platform/tracing';
import type { AuthContext, GatewayDeps } from '../deps';

/** Search attributes of a batch workflow, so operators can find it in the Temporal UI. */
export const batchSearchAttributes = (input: BatchRunInput) => [
  { key: BATCH_ID, value: input.batchId },
  { key: ACCOUNT_ID, value: input.accountId },
  { key: RUN_SOURCE, value: input.source },
  { key: FLOW_ID, value: batchFlowIds(input) },
  ...labelAttributes(input.meta),
];

/** The trigger's span (tracing on): its batch, and its run when it has one (else the first hundred run ids). */
const batchSpanAttributes = (input: BatchRunInput): Record<string, string | string[]> =>
  input.runs.length === 1
    ? { [BATCH_ID_ATTR]: input.batchId, [RUN_ID_ATTR]: input.runs[0].runId }
    : { [BATCH_ID_ATTR]: input.batchId, 'flowruns.run_ids': input.runs.slice(0, 100).map((r) => r.runId) };

/** Browser steps of a run that asks for Firefox run only where a Firefox is configured; nothing is substituted. */
function refuseMissingBrowser(config: GatewayDeps['config'], input: BatchRunInput): void {
  if (input.meta.browser !== 'firefox' || config.firefoxPath) return;
  const usesBrowser = (f: FlowRunInput) => [...f.flow.steps, ...(f.authFlow?.steps ?? [])].some((s) => s.type === 'browser' || s.type === 'scan');
  const flow = input.runs.find(usesBrowser);
  if (flow)
    throw new InvalidError(`browser firefox is not available on this platform (no FIREFOX_PATH), and flow ${flow.flow.id} has browser steps; use chrome, chromium or edge`, ['browser']);
}

/**
 * Starts a batch. Its rows are written and committed first; the workflow is started afterwards,
 * outside any transaction and under a deadline, so a slow Temporal never holds a database
 * connection. The workflow writes the same rows again first thing (idempotently), so it is whole
 * whatever happens to the gateway. A start that failed is settled before answering: a workflow
 * that exists is success; one confirmed absent takes its rows back (503, nothing accepted); an
 * outcome Temporal would not confirm leaves the rows and answers 503 — a retry with the same
 * `Idempotency-Key` lands on that one batch and starts it if it is not running.
 */
export async function triggerBatch(deps: GatewayDeps, auth: AuthContext, req: TriggerRequest): Promise<TriggeredBatch> {
  const { dataSource } = deps;
  const batchId = req.idempotency ? idempotentId(await platformSecret(dataSource, 'derived-ids'), auth.accountId, req.idempotency.key) : randomUUID();

  if (req.idempotency) {
    const prior = await dataSource.getRepository(BatchEntity).findOne({ where: { id: batchId, accountId: auth.accountId } });
    if (prior && prior.requestHash !== requestHash(req.idempotency.request)) throw new IdempotencyMismatchError();
    if (prior) {
      const batch = (await existingBatch(dataSource.manager, auth.accountId, batchId))!;
      // The earlier request may have written the rows without Temporal confirming the start: start it now (ids derive from the key, so it is the same batch).
      const neverStarted = !req.runIds && batch.runs.every((r) => r.status === 'queued');
      if (neverStarted && (await workflowState(deps, batchWorkflowId(batchId))) === 'absent') {
        await launchBatch(deps, await prepareBatch(deps, auth, req, dataSource.manager, batchId), true);
        return (await existingBatch(dataSource.manager, auth.accountId, batchId))!;
      }
      return batch;
    }
  }

  const input = await dataSource.transaction(async (m) => {
    const prepared = await prepareBatch(deps, auth, req, m, batchId);
    refuseMissingBrowser(deps.config, prepared);
    await insertBatchRows(m, prepared);
    if (req.runIds) {
      // A concurrent trigger may have taken a client-chosen id between the check and the insert.
      const ours = await m.count(RunEntity, { where: { accountId: auth.accountId, publicId: In(req.runIds), batchId } });
      if (ours !== req.runIds.length) throw new ConflictError('a run with this id already exists', ['runIds']);
    }
    return prepared;
  });
  await launchBatch(deps, input, req.idempotency !== undefined);
  return (await existingBatch(dataSource.manager, auth.accountId, batchId))!;
}

/**
 * Starts the workflow of a batch whose rows are committed, and settles a start that failed: a
 * workflow that exists is success; one confirmed absent takes its rows back (503, nothing
 * accepted); an outcome Temporal would not confirm leaves the rows (the workflow, if it runs,
 * needs them) and answers 503.
 */
export async function launchBatch(deps: Pick<GatewayDeps, 'client' | 'config' | 'dataSource'>, input: BatchRunInput, idempotent: boolean): Promise<void> {
  try {
    await startBatchWorkflow(deps, input);
  } catch (err) {
    const state = await workflowState(deps, batchWorkflowId(input.batchId));
    if (state === 'exists') return;
    if (state === 'absent') {
      await deps.dataSource.getRepository(BatchEntity).delete({ id: input.batchId, accountId: input.accountId });
      throw new UnavailableError(`could not start the batch on Temporal, nothing was accepted; retry: ${(err as Error).message}`);
    }
    throw new UnavailableError(
      `Temporal did not confirm the start of batch ${input.batchId} in time; it may still start. ${idempotent ? 'Retry with the same Idempotency-Key to get it.' : 'Send an Idempotency-Key to retry safely.'}`,
    );
  }
}

/** How long the gateway waits on Temporal for a start or a describe. */
const TEMPORAL_DEADLINE_MS = 5_000;

/** Whether a workflow exists, by a describe under a deadline; `unknown` when Temporal does not answer. */
async function workflowState(deps: Pick<GatewayDeps, 'client'>, workflowId: string): Promise<'exists' | 'absent' | 'unknown'> {
  try {
    await deps.client.withDeadline(Date.now() + TEMPORAL_DEADLINE_MS, () => deps.client.workflow.getHandle(workflowId).describe());
    return 'exists';
  } catch (err) {
    return err instanceof WorkflowNotFoundError ? 'absent' : 'unknown';
  }
}

/** Starts the batch's workflow under a deadline; one already started (a retry) is success. Throws what Temporal threw. */
export async function startBatchWorkflow(deps: Pick<GatewayDeps, 'client' | 'config'>, input: BatchRunInput): Promise<void> {
  annotateSpan(batchSpanAttributes(input));
  try {
    await deps.client.withDeadline(Date.now() + TEMPORAL_DEADLINE_MS, () =>
      deps.client.workflow.start<BatchRunWorkflow>(WorkflowTypes.batchRun, {
        taskQueue: deps.config.taskQueue,
        workflowId: batchWorkflowId(input.batchId),
        args: [workflowInput(input, deps.config.batchLimits)],
        staticSummary: batchSummary(input),
        typedSearchAttributes: batchSearchAttributes(input),
      }),
    );
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}
