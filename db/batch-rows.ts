/**
 * Writes a batch and its runs. The gateway calls it when it accepts a trigger and the batch
 * workflow calls it again first thing, so the rows exist even if the gateway died between
 * starting the workflow and committing; both inserts are no-ops when the rows are there.
 */
import type { EntityManager } from 'typeorm';
import type { BatchRunInput } from '../domain/flow-types';
import { maskVariables } from '../domain/secrets';
import { BatchEntity, RunEntity } from './entities';
import type { Batch, Json, Run } from './entities';

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
  };
  await manager.createQueryBuilder().insert().into(BatchEntity).values(batch).orIgnore().execute();
  if (input.runs.length === 0) return;
  const runs: Partial<Run>[] = input.runs.map((r) => ({
    id: r.runId,
    accountId: input.accountId,
    batchId: input.batchId,
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
    variables: maskVariables(r.variables),
    tags: meta.tags,
    external: false,
    workflowId: `run-${r.runId}`,
    createdBy: meta.actor?.id ?? null,
    updatedBy: meta.actor?.id ?? null,
  }));
  for (let i = 0; i < runs.length; i += 500)
    await manager.createQueryBuilder().insert().into(RunEntity).values(runs.slice(i, i + 500)).orIgnore().execute();
}
