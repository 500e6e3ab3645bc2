/**
 * Where a browser or scan attempt's files, baselines and records go (`PageRecorder`): on a platform
 * worker the artifact store and Postgres (`platformRecorder`), on an agent back to the platform
 * (agent-recorder.ts). Everything given a recorder is already masked.
 */
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { artifactKey, type ArtifactStore } from '../../db/artifact-store';
import type { LogLine, Projections } from '../../db/projections';
import { findBaseline, saveBaseline } from '../../db/visual-baselines';
import type { BrowserDetails } from '../../steps/browser';
import type { RequestRecord } from '../../steps/step-type';

/** `trace`: the attempt's Playwright trace (`trace.zip`, trace.ts), its secrets masked. */
export type ArtifactKind = 'screenshot' | 'diff' | 'html' | 'trace';

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
  /** Keeps one of the step's files; false when it was left out (an agent's trace that does not fit what it may hand back). */
  keep(job: RecordedAttempt, file: ArtifactFile): Promise<boolean | void>;
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

export const contentTypeOf = (kind: ArtifactKind): string => (kind === 'html' ? 'text/html; charset=utf-8' : kind === 'trace' ? 'application/zip' : 'image/png');

/** A platform worker's recorder: files in the artifact store, records in Postgres. */
export function platformRecorder(deps: { store: ArtifactStore; projections: Projections; dataSource: DataSource }): PageRecorder {
  return {
    async keep(job, { name, kind, data, meta }) {
      const storageKey = artifactKey('runs', job.runId, job.stepKey, name);
      await deps.store.put(storageKey, data);
      await deps.projections.artifact({ runId: job.runId, stepId: job.stepKey, name, kind, storageKey, contentType: contentTypeOf(kind), bytes: data.byteLength, meta: { ...meta, attempt: job.attempt } });
    },
    async baseline(k) {
      const found = await findBaseline(deps.dataSource, k.accountId, k);
      const png = found ? await deps.store.get(found.storageKey) : null;
      return found && png ? { png, runId: found.runId } : null;
    },
    async setBaseline(k, png, size, publicRunId) {
      const storageKey = artifactKey('baselines', k.accountId, `${randomUUID()}.png`);
      await deps.store.put(storageKey, png);
      await saveBaseline(deps.dataSource, k.accountId, k, { storageKey, runId: publicRunId, width: size.width, height: size.height });
    },
    async flush(job, { requests, lines, details }) {
      await deps.projections.requests(requests.map((r) => ({ ...r, runId: job.runId, stepId: job.stepKey })));
      await deps.projections.log(job.runId, lines);
      await deps.projections.stepDetails(job.runId, job.stepKey, details);
    },
  };
}
