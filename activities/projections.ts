/**
 * Writers of the Postgres projections of a run. Every write is keyed (run, step, attempt or
 * log key), so a retried, re-delivered or reset activity overwrites instead of duplicating.
 */
import type { DataSource, EntityManager } from 'typeorm';
import type { StepState } from '../domain/flow-types';
import type { RunStatus } from '../domain/statuses';
import { RunEntity, RunLogEntity, RunRequestEntity, StepRunEntity } from '../db/entities';
import type { Json, RunLog, RunRequest, StepRun } from '../db/entities';

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
