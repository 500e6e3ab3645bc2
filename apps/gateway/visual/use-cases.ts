/**
 * The files browser and scan steps leave (screenshots, diff images, rendered pages), served
 * behind the run's own authorisation, and the visual baselines their screenshots are compared
 * with: listed per flow, replaced by promoting a run's screenshot.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { IsNull } from 'typeorm';
import { artifactKey, artifactStoreFor, type ArtifactStore } from '../../../db/artifact-store';
import { FlowEntity } from '../../../db/entities';
import { artifactsNamed, findArtifact } from '../../../db/run-artifacts';
import { findBaseline, listBaselineRows, saveBaseline } from '../../../db/visual-baselines';
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

const storeOf = (deps: Pick<GatewayDeps, 'config'>): ArtifactStore => artifactStoreFor(deps.config);

/** The URL a step's file is served at, for a run's public id. */
export const artifactFileUrl = (baseUrl: string, runId: string, stepId: string, file: string): string =>
  `${baseUrl}/api/v1/runs/${encodeURIComponent(runId)}/artifacts/screenshots/${encodeURIComponent(stepId)}/${encodeURIComponent(file)}`;

/** A file of a run's step: its bytes and content type. NotFound names the part that is missing. */
export async function artifactFile(deps: Pick<GatewayDeps, 'dataSource' | 'config'>, accountId: string, runId: string, stepId: string, file: string) {
  const run = await findRun(deps.dataSource, accountId, runId);
  if (!run) throw new NotFoundError('run', ['runId']);
  const found = await findArtifact(deps.dataSource, run.id, stepId, file);
  const data = found ? await storeOf(deps).get(found.storageKey) : null;
  if (!found || !data) throw new NotFoundError(`file ${file} of step ${stepId}`, ['file']);
  return { data, contentType: found.contentType };
}

export async function listBaselines(deps: Pick<GatewayDeps, 'dataSource'>, accountId: string, flowId: string, baseUrl: string): Promise<z.infer<typeof baselineListSchema>> {
  const flow = await deps.dataSource.getRepository(FlowEntity).exists({ where: { accountId, id: flowId, deletedAt: IsNull() } });
  if (!flow) throw new NotFoundError('flow', ['flowId']);
  const rows = await listBaselineRows(deps.dataSource, accountId, flowId);
  return {
    data: rows.map((r) => ({
      ...r,
      created_at: r.created_at.toISOString(),
      image_url: `${baseUrl}/api/v1/flows/${encodeURIComponent(flowId)}/baselines/${encodeURIComponent(r.step_id)}/${encodeURIComponent(r.name)}.png?browser=${encodeURIComponent(r.browser)}&viewport=${encodeURIComponent(r.viewport)}`,
    })),
  };
}

export async function baselineImage(deps: Pick<GatewayDeps, 'dataSource' | 'config'>, accountId: string, key: { flowId: string; stepId: string; name: string; browser: string; viewport: string }): Promise<Buffer> {
  const baseline = await findBaseline(deps.dataSource, accountId, key);
  const data = baseline ? await storeOf(deps).get(baseline.storageKey) : null;
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
  const shots = await artifactsNamed<{ width: number; height: number; browser: string; viewport: string; flowId: string }>(deps.dataSource, run.id, [`${name}.png`], {
    kind: 'screenshot',
    ...(stepId ? { stepId } : {}),
  });
  if (shots.length === 0) throw new NotFoundError(`screenshot ${name}${stepId ? ` of step ${stepId}` : ''}`, ['name']);
  if (shots.length > 1) throw new ConflictError(`steps ${shots.map((s) => s.step_id).join(', ')} each took a screenshot named ${name}: say which with step_id`, ['step_id']);
  const shot = shots[0]!;
  const store = storeOf(deps);
  const data = await store.get(shot.storage_key);
  if (!data) throw new NotFoundError(`screenshot ${name} (its file is gone)`, ['name']);
  const storageKey = artifactKey('baselines', accountId, `${randomUUID()}.png`);
  await store.put(storageKey, data);
  const m = shot.meta!;
  const row = await saveBaseline(
    deps.dataSource,
    accountId,
    { flowId: m.flowId, stepId: shot.step_id, name, browser: m.browser, viewport: m.viewport },
    { storageKey, runId: run.publicId, width: m.width, height: m.height },
  );
  const listed = await listBaselines(deps, accountId, row.flow_id, baseUrl);
  return listed.data.find((b) => b.step_id === row.step_id && b.name === name && b.browser === row.browser && b.viewport === row.viewport)!;
}
