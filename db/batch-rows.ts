/** A batch's row and its runs' rows (`batches`, `runs`), as the trigger writes them and the batch workflow writes them again. */
import type { DataSource, EntityManager } from 'typeorm';
import type { BatchRunInput } from '../domain/flow-types';
import { maskVariables } from '../domain/secrets';
import { BatchEntity, RunEntity } from './entities';
import type { Batch, Json, Run } from './entities';
import { inChunks } from './step-records';

/** Whether the batch's row is there (when it is, so are its runs: both are written in one transaction). */
export async function batchRowExists(db: DataSource | EntityManager, batchId: string): Promise<boolean> {
  const [found] = (await db.query('SELECT 1 FROM batches WHERE id = $1', [batchId])) as unknown[];
  return found !== undefined;
}

/**
 * Writes a batch and its runs. The gateway calls it when it accepts a trigger and the batch
 * workflow calls it again first thing, so the rows exist even if the gateway died between
 * starting the workflow and committing; both inserts are no-ops when the rows are there.
 */
export async function insertBatchRows(manager: EntityManager, input: BatchRunInput): Promise<void> {
  const { meta } = input;
  const batch: Partial<Batch> = {
    id: input.batchId,
    accountId: input.accountId,
    source: input.source,
    actor: meta.actor,
    appId: meta.appId,
    buildId: meta.buildId,
    browser: meta.browser,
    variables: {},
    tags: meta.tags,
    maxParallel: input.maxParallel,
    idempotencyKey: meta.idempotencyKey,
    requestHash: meta.requestHash,
    scheduleId: meta.scheduleId ?? null,
  };
  await manager.createQueryBuilder().insert().into(BatchEntity).values(batch).orIgnore().updateEntity(false).execute();
  await insertRunRows(manager, input, input.batchId);
}

/** Writes runs (no-ops when they exist); `batchId` null for runs outside any batch (a sub-flow's). */
export async function insertRunRows(manager: EntityManager, input: Pick<BatchRunInput, 'accountId' | 'source' | 'meta' | 'runs'>, batchId: string | null): Promise<void> {
  const { meta } = input;
  const runs: Partial<Run>[] = input.runs.map((r) => ({
    id: r.runId,
    publicId: r.publicId ?? r.runId,
    accountId: input.accountId,
    batchId,
    position: r.position,
    suiteId: r.suiteId ?? null,
    flowId: r.flow.id,
    flowVersion: r.flowVersion,
    flowName: r.flow.name,
    flowType: r.flow.type,
    status: 'queued',
    source: input.source,
    actor: meta.actor,
    appId: meta.appId,
    buildId: meta.buildId,
    browser: meta.browser,
    triggerData: (r.trigger.body ?? null) as Json,
    variables: maskVariables(r.variables, r.secrets),
    tags: meta.tags,
    external: false,
    workflowId: `run-${r.runId}`,
    rerunOf: r.rerunOf ?? null,
    resumedFrom: r.resumedFrom ?? null,
    createdBy: meta.actor?.id ?? null,
    updatedBy: meta.actor?.id ?? null,
  }));
  await inChunks(runs, (chunk) => manager.createQueryBuilder().insert().into(RunEntity).values(chunk).orIgnore().updateEntity(false).execute());
}
