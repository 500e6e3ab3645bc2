/**
 * Where a browser or scan attempt's files, baselines and records go (`PageRecorder`): on a platform
 * worker the artifact store and Postgres (`platformRecorder`), on an agent back to the platform
 * (agent-recorder.ts). Everything given a recorder is already masked.
 */
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { artifactKey, type ArtifactStore } from '../../db/artifact-store';
import type { LogLine, Projections } from '../../db/projections';
import type { BrowserDetails } from '../../steps/browser';
import type { RequestRecord } from '../../steps/step-type';

export type ArtifactKind = 'screenshot' | 'diff' | 'html';

/** What a visual baseline is kept by: the screenshot's flow, step, name, browser and viewport. */
export interface BaselineKey {
  accountId: string;
  flowId: string;
  stepId: string;
  name: string;
  browser: string;
  viewport: string;
}

/** What one attempt writes, as it writes it. Everything given it is already masked. */
export interface PageRecorder {
  /** Keeps one of the step's files. */
  keep(job: RecordedAttempt, file: ArtifactFile): Promise<void>;
  /** The baseline a screenshot is compared with, or null when there is none yet. */
  baseline(key: BaselineKey): Promise<{ png: Buffer; runId: string } | null>;
  /** Makes `png` the baseline (the first screenshot of its kind; a concurrent first run may win instead). */
  setBaseline(key: BaselineKey, png: Buffer, size: { width: number; height: number }, publicRunId: string): Promise<void>;
  /** The attempt's requests, console lines and details, whether it passed or not. */
  flush(job: RecordedAttempt, records: PageRecords): Promise<void>;
}

/** The attempt a record belongs to. */
export interface RecordedAttempt {
  runId: string;
  stepKey: string;
  attempt: number;
}
export interface ArtifactFile {
  name: string;
  kind: ArtifactKind;
  data: Buffer;
  meta: Record<string, unknown>;
}
/** What an attempt did besides its files: the page's requests, its console lines, the actions and timings. */
export interface PageRecords {
  requests: RequestRecord[];
  lines: LogLine[];
  details: BrowserDetails;
}

export const contentTypeOf = (kind: ArtifactKind): string => (kind === 'html' ? 'text/html; charset=utf-8' : 'image/png');

/** A platform worker's recorder: files in the artifact store, records in Postgres. */
export function platformRecorder(deps: { store: ArtifactStore; projections: Projections; dataSource: DataSource }): PageRecorder {
  return {
    async keep(job, { name, kind, data, meta }) {
      const storageKey = artifactKey('runs', job.runId, job.stepKey, name);
      await deps.store.put(storageKey, data);
      await deps.projections.artifact({ runId: job.runId, stepId: job.stepKey, name, kind, storageKey, contentType: contentTypeOf(kind), bytes: data.byteLength, meta: { ...meta, attempt: job.attempt } });
    },
    async baseline(k) {
      const rows: { storage_key: string; run_id: string }[] = await deps.dataSource.query(
        `SELECT storage_key, run_id FROM visual_baselines WHERE account_id = $1 AND flow_id = $2 AND step_id = $3 AND name = $4 AND browser = $5 AND viewport = $6`,
        [k.accountId, k.flowId, k.stepId, k.name, k.browser, k.viewport],
      );
      const png = rows[0] ? await deps.store.get(rows[0].storage_key) : null;
      return rows[0] && png ? { png, runId: rows[0].run_id } : null;
    },
    async setBaseline(k, png, size, publicRunId) {
      const storageKey = artifactKey('baselines', k.accountId, `${randomUUID()}.png`);
      await deps.store.put(storageKey, png);
      await deps.dataSource.query(
        `INSERT INTO visual_baselines (account_id, flow_id, step_id, name, browser, viewport, storage_key, run_id, width, height) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (account_id, flow_id, step_id, name, browser, viewport) DO UPDATE SET storage_key = EXCLUDED.storage_key, run_id = EXCLUDED.run_id,
           width = EXCLUDED.width, height = EXCLUDED.height, created_at = now()`,
        [k.accountId, k.flowId, k.stepId, k.name, k.browser, k.viewport, storageKey, publicRunId, size.width, size.height],
      );
    },
    async flush(job, { requests, lines, details }) {
      await deps.projections.requests(requests.map((r) => ({ ...r, runId: job.runId, stepId: job.stepKey })));
      await deps.projections.log(job.runId, lines);
      await deps.projections.stepDetails(job.runId, job.stepKey, details);
    },
  };
}
