/**
 * The files browser and scan steps leave (screenshots, diff images, rendered pages), served
 * behind the run's own authorisation, and the visual baselines their screenshots are compared
 * with: listed per flow, replaced by promoting a run's screenshot.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { artifactKey, artifactStoreFor, type ArtifactStore } from '../../../db/artifact-store';
import { ConflictError, NotFoundError } from '../../../domain/errors';
import type { GatewayDeps } from '../deps';
import { findRun } from '../runs/queries';

export const baselineSchema = z.object({
  flow_id: z.string(),
  step_id: z.string(),
  name: z.string(),
  browser: z.string(),
  viewport: z.string(),
  width: z.number(),
  height: z.number(),
  run_id: z.string(),
  created_at: z.string(),
  image_url: z.string(),
});
export const baselineListSchema = z.object({ data: z.array(baselineSchema) });

interface BaselineRow {
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

const storeOf = (deps: Pick<GatewayDeps, 'config'>): ArtifactStore => artifactStoreFor(deps.config);

/** The URL a step's file is served at, for a run's public id. */
export const artifactFileUrl = (baseUrl: string, runId: string, stepId: string, file: string): string =>
  `${baseUrl}/api/v1/runs/${encodeURIComponent(runId)}/artifacts/screenshots/${encodeURIComponent(stepId)}/${encodeURIComponent(file)}`;

/** A file of a run's step: its bytes and content type. NotFound names the part that is missing. */
export async function artifactFile(deps: Pick<GatewayDeps, 'dataSource' | 'config'>, accountId: string, runId: string, stepId: string, file: string) {
  const run = await findRun(deps.dataSource, accountId, runId);
  if (!run) throw new NotFoundError('run', ['runId']);
  const rows: { storage_key: string; content_type: string }[] = await deps.dataSource.query(
    'SELECT storage_key, content_type FROM run_artifacts WHERE run_id = $1 AND step_id = $2 AND name = $3',
    [run.id, stepId, file],
  );
  const data = rows[0] ? await storeOf(deps).get(rows[0].storage_key) : null;
  if (!rows[0] || !data) throw new NotFoundError(`file ${file} of step ${stepId}`, ['file']);
  return { data, contentType: rows[0].content_type };
}

export async function listBaselines(deps: Pick<GatewayDeps, 'dataSource'>, accountId: string, flowId: string, baseUrl: string): Promise<z.infer<typeof baselineListSchema>> {
  const flow: unknown[] = await deps.dataSource.query('SELECT 1 FROM flows WHERE account_id = $1 AND id = $2 AND deleted_at IS NULL', [accountId, flowId]);
  if (flow.length === 0) throw new NotFoundError('flow', ['flowId']);
  const rows: BaselineRow[] = await deps.dataSource.query(
    `SELECT flow_id, step_id, name, browser, viewport, width, height, run_id, created_at FROM visual_baselines
      WHERE account_id = $1 AND flow_id = $2 ORDER BY step_id, name, browser, viewport LIMIT 1000`,
    [accountId, flowId],
  );
  return {
    data: rows.map((r) => ({
      ...r,
      created_at: r.created_at.toISOString(),
      image_url: `${baseUrl}/api/v1/flows/${encodeURIComponent(flowId)}/baselines/${encodeURIComponent(r.step_id)}/${encodeURIComponent(r.name)}.png?browser=${encodeURIComponent(r.browser)}&viewport=${encodeURIComponent(r.viewport)}`,
    })),
  };
}

export async function baselineImage(deps: Pick<GatewayDeps, 'dataSource' | 'config'>, accountId: string, key: { flowId: string; stepId: string; name: string; browser: string; viewport: string }): Promise<Buffer> {
  const rows: { storage_key: string }[] = await deps.dataSource.query(
    `SELECT storage_key FROM visual_baselines WHERE account_id = $1 AND flow_id = $2 AND step_id = $3 AND name = $4 AND browser = $5 AND viewport = $6`,
    [accountId, key.flowId, key.stepId, key.name, key.browser, key.viewport],
  );
  const data = rows[0] ? await storeOf(deps).get(rows[0].storage_key) : null;
  if (!data) throw new NotFoundError(`baseline ${key.name} of step ${key.stepId} (${key.browser}, ${key.viewport})`, ['name']);
  return data;
}

export const promoteSchema = z.object({ step_id: z.string().min(1).optional() }).default({});

/**
 * Makes a run's screenshot the baseline of its flow, step, name, browser and viewport. A name
 * taken in several steps of the run needs `step_id`.
 */
export async function promoteScreenshot(deps: Pick<GatewayDeps, 'dataSource' | 'config'>, accountId: string, runId: string, name: string, stepId: string | undefined, baseUrl: string) {
  const run = await findRun(deps.dataSource, accountId, runId);
  if (!run) throw new NotFoundError('run', ['runId']);
  const shots: { step_id: string; storage_key: string; meta: { width: number; height: number; browser: string; viewport: string; flowId: string } }[] = await deps.dataSource.query(
    `SELECT step_id, storage_key, meta FROM run_artifacts WHERE run_id = $1 AND name = $2 AND kind = 'screenshot' AND ($3::text IS NULL OR step_id = $3) ORDER BY step_id`,
    [run.id, `${name}.png`, stepId ?? null],
  );
  if (shots.length === 0) throw new NotFoundError(`screenshot ${name}${stepId ? ` of step ${stepId}` : ''}`, ['name']);
  if (shots.length > 1) throw new ConflictError(`steps ${shots.map((s) => s.step_id).join(', ')} each took a screenshot named ${name}: say which with step_id`, ['step_id']);
  const shot = shots[0]!;
  const store = storeOf(deps);
  const data = await store.get(shot.storage_key);
  if (!data) throw new NotFoundError(`screenshot ${name} (its file is gone)`, ['name']);
  const storageKey = artifactKey('baselines', accountId, `${randomUUID()}.png`);
  await store.put(storageKey, data);
  const m = shot.meta;
  const [row]: BaselineRow[] = await deps.dataSource.query(
    `INSERT INTO visual_baselines (account_id, flow_id, step_id, name, browser, viewport, storage_key, run_id, width, height) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (account_id, flow_id, step_id, name, browser, viewport) DO UPDATE SET storage_key = EXCLUDED.storage_key, run_id = EXCLUDED.run_id,
       width = EXCLUDED.width, height = EXCLUDED.height, created_at = now()
     RETURNING flow_id, step_id, name, browser, viewport, width, height, run_id, created_at`,
    [accountId, m.flowId, shot.step_id, name, m.browser, m.viewport, storageKey, run.publicId, m.width, m.height],
  );
  const listed = await listBaselines(deps, accountId, row!.flow_id, baseUrl);
  return listed.data.find((b) => b.step_id === row!.step_id && b.name === name && b.browser === row!.browser && b.viewport === row!.viewport)!;
}
