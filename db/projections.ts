/**
 * Writers of the Postgres projections of a run. Every write is keyed (run, step, attempt or
 * log key), so a retried, re-delivered or reset activity overwrites instead of duplicating.
 */
import type { DataSource, EntityManager } from 'typeorm';
import type { BatchRunInput, StepState } from '../domain/flow-types';
import { maskVariables } from '../domain/secrets';
import type { RunStatus } from '../domain/statuses';
import { BatchEntity, RunEntity, RunLogEntity, RunRequestEntity, StepRunEntity } from './entities';
import type { Batch, Json, Run, RunLog, RunRequest, StepRun } from './entities';

export interface StepRow extends StepState {
  position: number;
}

export interface LogLine {
  key: string;
  level: RunLog['level'];
  stepId?: string;
  message: string;
  ts?: Date;
}

const toDate = (iso?: string): Date | null => (iso ? new Date(iso) : null);

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

export class Projections {
  constructor(
    private readonly db: DataSource,
    private readonly clock: () => Date,
  ) {}

  async upsertSteps(runId: string, steps: StepRow[], manager: EntityManager = this.db.manager): Promise<void> {
    if (steps.length === 0) return;
    const rows: Partial<StepRun>[] = steps.map((s) => ({
      runId,
      stepId: s.id,
      position: s.position,
      name: s.name,
      type: s.type,
      status: s.status,
      attempts: s.attempts,
      startedAt: toDate(s.startedAt),
      finishedAt: toDate(s.finishedAt),
      durationMs: s.durationMs ?? null,
      output: (s.output ?? null) as Json,
      error: s.error ?? null,
    }));
    await manager
      .createQueryBuilder()
      .insert()
      .into(StepRunEntity)
      .values(rows)
      .orUpdate(
        ['position', 'name', 'type', 'status', 'attempts', 'started_at', 'finished_at', 'duration_ms', 'output', 'error'],
        ['run_id', 'step_id'],
      )
      .execute();
  }

  /** Inserts the run's step list as `queued`, leaving rows that already exist alone. */
  async seedSteps(runId: string, steps: StepRow[]): Promise<void> {
    if (steps.length === 0) return;
    await this.db
      .createQueryBuilder()
      .insert()
      .into(StepRunEntity)
      .values(steps.map((s) => ({ runId, stepId: s.id, position: s.position, name: s.name, type: s.type, status: s.status, attempts: 0 })))
      .orIgnore()
      .execute();
  }

  async log(runId: string, lines: LogLine[], manager: EntityManager = this.db.manager): Promise<void> {
    if (lines.length === 0) return;
    const now = this.clock();
    await manager
      .createQueryBuilder()
      .insert()
      .into(RunLogEntity)
      .values(lines.map((l) => ({ runId, key: l.key, ts: l.ts ?? now, level: l.level, stepId: l.stepId ?? null, message: l.message })))
      .orIgnore()
      .execute();
  }

  async request(row: RunRequest): Promise<void> {
    await this.db.createQueryBuilder().insert().into(RunRequestEntity).values(row).orUpdate(
      ['ts', 'method', 'url', 'status', 'resource_type', 'duration_ms', 'response_size', 'error'],
      ['run_id', 'step_id', 'attempt'],
    ).execute();
  }

  async runStarted(runId: string, workflowRunId: string): Promise<void> {
    const now = this.clock();
    await this.db
      .createQueryBuilder()
      .update(RunEntity)
      .set({ status: 'running', workflowRunId, startedAt: () => `COALESCE(started_at, :now)`, updatedAt: now })
      .setParameter('now', now)
      .where('id = :runId', { runId })
      .execute();
  }

  async runStatus(runId: string, status: 'running' | 'waiting'): Promise<void> {
    await this.db
      .createQueryBuilder()
      .update(RunEntity)
      .set({ status, updatedAt: this.clock() })
      .where('id = :runId AND status IN (:...open)', { runId, open: ['queued', 'running', 'waiting'] })
      .execute();
  }

  async runFinished(
    runId: string,
    result: { status: RunStatus; error: { step: string; message: string } | null; outputs: unknown; steps: StepRow[] },
  ): Promise<void> {
    const now = this.clock();
    await this.db.transaction(async (m) => {
      await this.upsertSteps(runId, result.steps, m);
      await m
        .createQueryBuilder()
        .update(RunEntity)
        .set({
          status: result.status,
          error: result.error as Json,
          outputs: (result.outputs ?? null) as Json,
          startedAt: () => `COALESCE(started_at, :now)`,
          finishedAt: now,
          durationMs: () => `GREATEST(0, (EXTRACT(EPOCH FROM (:now::timestamptz - COALESCE(started_at, :now::timestamptz))) * 1000)::int)`,
          updatedAt: now,
        })
        .setParameter('now', now)
        .where('id = :runId', { runId })
        .execute();
      await this.log(runId, [{ key: 'run.finished', level: result.status === 'succeeded' ? 'info' : 'error', message: `run ${result.status}${result.error ? `: ${result.error.step}: ${result.error.message}` : ''}`, ts: now }], m);
    });
  }

  /** Runs of a cancelled batch that never started. */
  async runsCancelled(runIds: string[]): Promise<void> {
    if (runIds.length === 0) return;
    const now = this.clock();
    await this.db
      .createQueryBuilder()
      .update(RunEntity)
      .set({ status: 'cancelled', finishedAt: now, updatedAt: now })
      .where('id IN (:...runIds) AND status IN (:...open)', { runIds, open: ['queued', 'running', 'waiting'] })
      .execute();
  }
}
