/** Reads behind a run's details and artifacts: the app's platform, which artifacts exist, and the artifacts themselves, streamed. */
import type { DataSource } from 'typeorm';
import { appPlatformRows } from '../../../../db/apps';
import { RunLogEntity, RunRequestEntity } from '../../../../db/entities';
import type { App, RunLog, RunRequest } from '../../../../db/entities';
import { logAndRequestsPresence } from '../../../../db/run-logs';
import { httpTotalRows } from '../../../../db/run-requests';

/** The app's platform tells a client whether the network artifact can exist (web only). */
export async function findAppPlatform(db: DataSource, accountId: string, appId: string | null): Promise<App['platform'] | null> {
  if (!appId) return null;
  const rows = await appPlatformRows(db, accountId, appId);
  return rows[0]?.platform ?? null;
}

export interface ArtifactPresence {
  hasLog: boolean;
  hasRequests: boolean;
}

/** Whether the log and network artifacts were produced, in one round trip. */
export async function artifactPresence(db: DataSource, runId: string): Promise<ArtifactPresence> {
  const rows = await logAndRequestsPresence(db, runId);
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

/** A failed request is one that got no response (status 0). */
export async function httpTotals(db: DataSource, runId: string): Promise<HttpTotals> {
  const rows = await httpTotalRows(db, runId);
  const r = rows[0];
  return {
    requests: Number(r?.requests ?? 0),
    failed: Number(r?.failed ?? 0),
    totalDurationMs: Number(r?.total_duration_ms ?? 0),
    totalBytes: Number(r?.total_bytes ?? 0),
  };
}
