/** `visual_baselines`: the screenshot each flow's step, name, browser and viewport is compared with (db/entities/flows.ts). */
import type { DataSource, EntityManager } from 'typeorm';

type Db = DataSource | EntityManager;

/** What a baseline is keyed by within an account. */
export interface BaselineKey {
  flowId: string;
  stepId: string;
  name: string;
  browser: string;
  viewport: string;
}

/** A baseline as the API lists it. */
export interface BaselineRow {
  flow_id: string;
  step_id: string;
  name: string;
  browser: string;
  viewport: string;
  width: number;
  height: number;
  run_id: string;
  created_at: Date;
}

const COLUMNS = 'flow_id, step_id, name, browser, viewport, width, height, run_id, created_at';
const KEY_WHERE = 'account_id = $1 AND flow_id = $2 AND step_id = $3 AND name = $4 AND browser = $5 AND viewport = $6';
const keyParams = (accountId: string, k: BaselineKey) => [accountId, k.flowId, k.stepId, k.name, k.browser, k.viewport];

/** The baseline of `key`: where its image is kept and the run (public id) it came from; null when there is none. */
export async function findBaseline(db: Db, accountId: string, key: BaselineKey): Promise<{ storageKey: string; runId: string; createdAt: Date } | null> {
  const rows: { storage_key: string; run_id: string; created_at: Date }[] = await db.query(
    `SELECT storage_key, run_id, created_at FROM visual_baselines WHERE ${KEY_WHERE}`,
    keyParams(accountId, key),
  );
  return rows[0] ? { storageKey: rows[0].storage_key, runId: rows[0].run_id, createdAt: rows[0].created_at } : null;
}

/** A flow's baselines, in key order (at most 1,000). */
export function listBaselineRows(db: Db, accountId: string, flowId: string): Promise<BaselineRow[]> {
  return db.query(
    `SELECT ${COLUMNS} FROM visual_baselines WHERE account_id = $1 AND flow_id = $2 ORDER BY step_id, name, browser, viewport LIMIT 1000`,
    [accountId, flowId],
  );
}

/** Makes the image at `storageKey` the baseline of `key` (replacing one there), from run `runId` (public id). */
export async function saveBaseline(
  db: Db,
  accountId: string,
  key: BaselineKey,
  image: { storageKey: string; runId: string; width: number; height: number },
): Promise<BaselineRow> {
  const [row]: BaselineRow[] = await db.query(
    `INSERT INTO visual_baselines (account_id, flow_id, step_id, name, browser, viewport, storage_key, run_id, width, height) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (account_id, flow_id, step_id, name, browser, viewport) DO UPDATE SET storage_key = EXCLUDED.storage_key, run_id = EXCLUDED.run_id,
       width = EXCLUDED.width, height = EXCLUDED.height, created_at = now()
     RETURNING ${COLUMNS}`,
    [...keyParams(accountId, key), image.storageKey, image.runId, image.width, image.height],
  );
  return row!;
}
