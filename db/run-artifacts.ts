/** Reads of `run_artifacts`: the files a run's steps put in the artifact store (written by StepRecords.artifact, db/step-records.ts). */
import type { DataSource, EntityManager } from 'typeorm';

type Db = DataSource | EntityManager;

/** A file of a step of a run: where it is kept and its content type; null when the step has none by that name. */
export async function findArtifact(db: Db, runId: string, stepId: string, name: string): Promise<{ storageKey: string; contentType: string } | null> {
  const rows: { storage_key: string; content_type: string }[] = await db.query(
    'SELECT storage_key, content_type FROM run_artifacts WHERE run_id = $1 AND step_id = $2 AND name = $3',
    [runId, stepId, name],
  );
  return rows[0] ? { storageKey: rows[0].storage_key, contentType: rows[0].content_type } : null;
}

/** Files of a run by name (any of `names`), in step order; only those of `stepId` when given. */
export function artifactsNamed<M = Record<string, unknown>>(
  db: Db,
  runId: string,
  names: string[],
  options: { stepId?: string; kind?: string } = {},
): Promise<{ step_id: string; name: string; storage_key: string; meta: M | null }[]> {
  return db.query(
    `SELECT step_id, name, storage_key, meta FROM run_artifacts
      WHERE run_id = $1 AND name = ANY($2::text[]) AND ($3::text IS NULL OR step_id = $3) AND ($4::text IS NULL OR kind = $4)
      ORDER BY step_id, name`,
    [runId, names, options.stepId ?? null, options.kind ?? null],
  );
}
