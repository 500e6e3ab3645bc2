/**
 * Reads of the run projections. Every query is scoped by account, so another account's batch,
 * run or flow is indistinguishable from one that does not exist.
 */
import type { DataSource } from 'typeorm';
import { BatchEntity, FlowEntity, RunEntity, RunLogEntity, RunRequestEntity, StepRunEntity } from '../../../db/entities';
import type { Batch, Run, RunLog, RunRequest, StepRun } from '../../../db/entities';
import type { RunStatus } from '../../../domain/statuses';
import type { CursorKey } from '../http/cursor';

export async function findBatch(db: DataSource, accountId: string, batchId: string): Promise<Batch | null> {
  return db.getRepository(BatchEntity).findOneBy({ id: batchId, accountId });
}

export async function findBatchRuns(db: DataSource, batchId: string): Promise<Run[]> {
  return db.getRepository(RunEntity).find({ where: { batchId }, order: { position: 'ASC', id: 'ASC' } });
}

export async function findRun(db: DataSource, accountId: string, runId: string): Promise<Run | null> {
  return db.getRepository(RunEntity).findOneBy({ id: runId, accountId });
}

export async function findSteps(db: DataSource, runId: string): Promise<StepRun[]> {
  return db.getRepository(StepRunEntity).find({ where: { runId }, order: { position: 'ASC', stepId: 'ASC' } });
}

/** The app's platform tells a seed 000 client whether the network artifact can exist (web only). */
export async function findAppPlatform(db: DataSource, accountId: string, appId: string | null): Promise<string | null> {
  if (!appId) return null;
  const rows: { platform: string }[] = await db.query('SELECT platform FROM apps WHERE id = $1 AND account_id = $2', [appId, accountId]);
  return rows[0]?.platform ?? null;
}

export interface ArtifactPresence {
  hasLog: boolean;
  hasRequests: boolean;
}

/** Whether the log and network artifacts were produced, in one round trip. */
export async function artifactPresence(db: DataSource, runId: string): Promise<ArtifactPresence> {
  const rows: { has_log: boolean; has_requests: boolean }[] = await db.query(
    `SELECT EXISTS (SELECT 1 FROM run_logs WHERE run_id = $1) AS has_log,
            EXISTS (SELECT 1 FROM run_requests WHERE run_id = $1) AS has_requests`,
    [runId],
  );
  return { hasLog: rows[0]?.has_log ?? false, hasRequests: rows[0]?.has_requests ?? false };
}

/** Streams in keyset chunks so a long run's log never sits in memory whole. */
export async function* streamLogs(db: DataSource, runId: string, chunk = 1000): AsyncGenerator<RunLog[]> {
  const repo = db.getRepository(RunLogEntity);
  let after: { ts: Date; key: string } | null = null;
  for (;;) {
    const qb = repo.createQueryBuilder('l').where('l.run_id = :runId', { runId });
    if (after) qb.andWhere('(l.ts, l.key) > (:ts, :key)', after);
    const rows = await qb.orderBy('l.ts', 'ASC').addOrderBy('l.key', 'ASC').take(chunk).getMany();
    if (rows.length === 0) return;
    yield rows;
    if (rows.length < chunk) return;
    const last = rows[rows.length - 1]!;
    after = { ts: last.ts, key: last.key };
  }
}

export async function* streamRequests(db: DataSource, runId: string, chunk = 1000): AsyncGenerator<RunRequest[]> {
  const repo = db.getRepository(RunRequestEntity);
  let after: { ts: Date; stepId: string; attempt: number } | null = null;
  for (;;) {
    const qb = repo.createQueryBuilder('r').where('r.run_id = :runId', { runId });
    if (after) qb.andWhere('(r.ts, r.step_id, r.attempt) > (:ts, :stepId, :attempt)', after);
    const rows = await qb.orderBy('r.ts', 'ASC').addOrderBy('r.step_id', 'ASC').addOrderBy('r.attempt', 'ASC').take(chunk).getMany();
    if (rows.length === 0) return;
    yield rows;
    if (rows.length < chunk) return;
    const last = rows[rows.length - 1]!;
    after = { ts: last.ts, stepId: last.stepId, attempt: last.attempt };
  }
}

export interface HttpTotals {
  requests: number;
  failed: number;
  totalDurationMs: number;
  totalBytes: number;
}

/** A failed request is one that got no response (status 0), as seed 000 defines it. */
export async function httpTotals(db: DataSource, runId: string): Promise<HttpTotals> {
  const rows: { requests: string; failed: string; total_duration_ms: string; total_bytes: string }[] = await db.query(
    `SELECT count(*) AS requests,
            count(*) FILTER (WHERE status = 0) AS failed,
            coalesce(sum(duration_ms), 0) AS total_duration_ms,
            coalesce(sum(response_size), 0) AS total_bytes
       FROM run_requests WHERE run_id = $1`,
    [runId],
  );
  const r = rows[0];
  return {
    requests: Number(r?.requests ?? 0),
    failed: Number(r?.failed ?? 0),
    totalDurationMs: Number(r?.total_duration_ms ?? 0),
    totalBytes: Number(r?.total_bytes ?? 0),
  };
}

/** A soft-deleted flow still counts: its runs stay readable. */
export async function flowExists(db: DataSource, accountId: string, flowId: string): Promise<boolean> {
  return db.getRepository(FlowEntity).exists({ where: { accountId, id: flowId }, withDeleted: true });
}

export interface FlowRunPage {
  runs: Run[];
  hasMore: boolean;
}

/**
 * Newest first, keyset on (created_at DESC, id DESC) over the runs_flow_page index: a run
 * inserted between two page fetches lands before the cursor, so it never shifts later pages.
 */
export async function pageFlowRuns(
  db: DataSource,
  q: { accountId: string; flowId: string; limit: number; after: CursorKey | null; status: RunStatus | null },
): Promise<FlowRunPage> {
  const qb = db
    .getRepository(RunEntity)
    .createQueryBuilder('r')
    .where('r.account_id = :accountId AND r.flow_id = :flowId', { accountId: q.accountId, flowId: q.flowId });
  if (q.status) qb.andWhere('r.status = :status', { status: q.status });
  if (q.after) qb.andWhere('(r.created_at, r.id) < (:afterTs::timestamptz, :afterId)', { afterTs: q.after[0], afterId: q.after[1] });
  const rows = await qb.orderBy('r.created_at', 'DESC').addOrderBy('r.id', 'DESC').limit(q.limit + 1).getMany();
  return { runs: rows.slice(0, q.limit), hasMore: rows.length > q.limit };
}

export const runCursorKey = (run: Run): CursorKey => [run.createdAt.toISOString(), run.id];

export interface StepCounts {
  total: number;
  succeeded: number;
}

/**
 * Step counts for a whole page in one grouped query. A run whose steps are not all recorded
 * yet counts the steps of the definition it runs, so a queued run does not claim zero steps.
 */
export async function stepCounts(db: DataSource, runIds: string[]): Promise<Map<string, StepCounts>> {
  const out = new Map<string, StepCounts>();
  if (runIds.length === 0) return out;
  const rows: { id: string; total: number; succeeded: number }[] = await db.query(
    `SELECT r.id,
            GREATEST(count(s.step_id), coalesce(max(jsonb_array_length(fv.definition -> 'steps')), 0))::int AS total,
            (count(s.step_id) FILTER (WHERE s.status = 'succeeded'))::int AS succeeded
       FROM runs r
       LEFT JOIN step_runs s ON s.run_id = r.id
       LEFT JOIN flow_versions fv ON fv.account_id = r.account_id AND fv.flow_id = r.flow_id AND fv.version = r.flow_version
      WHERE r.id = ANY($1::text[])
      GROUP BY r.id`,
    [runIds],
  );
  for (const r of rows) out.set(r.id, { total: r.total, succeeded: r.succeeded });
  return out;
}

export interface FlowRunStats {
  totalRuns: number;
  succeeded: number;
  failed: number;
  averageDuration: number | null;
  p50Duration: number | null;
  p95Duration: number | null;
  lastRun: Date | null;
}

const FINISHED = 'finished_at IS NOT NULL AND duration_ms IS NOT NULL';

/** Aggregated in SQL in one pass over the flow's runs; durations only of runs that finished. */
export async function flowRunStats(db: DataSource, accountId: string, flowId: string): Promise<FlowRunStats> {
  const rows: {
    total: number;
    succeeded: number;
    failed: number;
    avg: number | null;
    p50: number | null;
    p95: number | null;
    last_run: Date | null;
  }[] = await db.query(
    `SELECT count(*)::int AS total,
            (count(*) FILTER (WHERE status = 'succeeded'))::int AS succeeded,
            (count(*) FILTER (WHERE status = 'failed'))::int AS failed,
            (avg(duration_ms) FILTER (WHERE ${FINISHED}))::float8 AS avg,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) FILTER (WHERE ${FINISHED}) AS p50,
            percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) FILTER (WHERE ${FINISHED}) AS p95,
            (SELECT coalesce(n.started_at, n.created_at) FROM runs n WHERE n.account_id = $1 AND n.flow_id = $2
              ORDER BY n.created_at DESC, n.id DESC LIMIT 1) AS last_run
       FROM runs WHERE account_id = $1 AND flow_id = $2`,
    [accountId, flowId],
  );
  const r = rows[0]!;
  return {
    totalRuns: r.total,
    succeeded: r.succeeded,
    failed: r.failed,
    averageDuration: r.avg,
    p50Duration: r.p50,
    p95Duration: r.p95,
    lastRun: r.last_run,
  };
}
