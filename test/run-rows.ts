/**
 * Run rows written straight through the entities, for stack tests that pin what the read side
 * makes of given projections (test/runs-read.test.ts, test/runs-reconcile.test.ts).
 */
import { randomUUID } from 'node:crypto';
import { BatchEntity, RunEntity, StepRunEntity } from '../db/entities';
import type { Batch, Run, StepRun } from '../db/entities';
import type { RunStatus } from '../domain/statuses';
import type { Stack } from './harness';

export const T0 = Date.parse('2026-04-21T09:00:00Z');
export const at = (ms: number): Date => new Date(T0 + ms);

export async function insertBatch(stack: Stack, accountId: string, over: Partial<Batch> = {}): Promise<Batch> {
  const batch: Partial<Batch> = {
    id: randomUUID(),
    accountId,
    source: 'ci',
    actor: { id: 'key-1', name: 'ci key', type: 'user' },
    appId: null,
    buildId: null,
    browser: null,
    variables: {},
    tags: [],
    maxParallel: 10,
    ...over,
  };
  await stack.dataSource.getRepository(BatchEntity).insert(batch);
  return batch as Batch;
}

export async function insertRun(stack: Stack, accountId: string, over: Partial<Run> = {}): Promise<Run> {
  const status: RunStatus = over.status ?? 'succeeded';
  const id = over.id ?? randomUUID();
  const run: Partial<Run> = {
    id,
    publicId: id,
    accountId,
    batchId: null,
    position: 0,
    flowId: 'daily-sales-report',
    flowVersion: 1,
    flowName: 'Daily Sales Report',
    flowType: 'automation',
    status,
    source: 'ci',
    actor: { id: 'key-1', name: 'ci key', type: 'user' },
    browser: null,
    variables: {},
    tags: [],
    external: false,
    workflowId: `run-${id}`,
    ...over,
  };
  await stack.dataSource.getRepository(RunEntity).insert(run);
  return run as Run;
}

export async function insertSteps(stack: Stack, runId: string, steps: Partial<StepRun>[]): Promise<void> {
  await stack.dataSource.getRepository(StepRunEntity).insert(
    steps.map((s, i) => ({ runId, stepId: `s${i}`, position: i, name: `Step ${i}`, type: 'http', status: 'succeeded' as const, attempts: 1, ...s })),
  );
}

export const readRun = (stack: Stack, id: string) => stack.dataSource.getRepository(RunEntity).findOneByOrFail({ id });
