/**
 * Browser and scan steps on an agent, which has no database and no artifact store: the attempt's
 * files, baselines and records are collected here and handed back with the attempt, and the
 * platform's worker records them (`recordAgentAttempt`) as it records its own. Baselines are read
 * from the gateway with the agent's account key. What travels back is bounded: a Temporal payload
 * holds at most 2 MB.
 */
import { ApplicationFailure } from '@temporalio/common';
import { artifactKey } from '../../db/artifact-store';
import type { LogLine } from '../../db/projections';
import type { BrowserDetails } from '../../steps/browser';
import type { RequestRecord } from '../../steps/step-type';
import type { ArtifactKind, BaselineKey, PageRecorder } from './recorder';

/** Files and baselines an agent hands back with one attempt, in all (as base64, a third more, within a Temporal payload's 2 MB). */
export const AGENT_MAX_FILE_BYTES = 1_000_000;
const GATEWAY_TIMEOUT_MS = 10_000;

/** What an agent's browser attempt hands back (binary data as base64, times as ISO strings). */
export interface AgentPageRecords {
  files: { name: string; kind: ArtifactKind; data: string; meta: Record<string, unknown> }[];
  baselines: { name: string; browser: string; viewport: string; data: string; width: number; height: number }[];
  requests: (Omit<RequestRecord, 'ts'> & { ts: string })[];
  lines: (Omit<LogLine, 'ts'> & { ts?: string })[];
  details: BrowserDetails | null;
}

/** The gateway an agent registered with, and its account key. */
export interface AgentGateway {
  url: string;
  apiKey: string;
}

export function agentRecorder(gateway: AgentGateway): { recorder: PageRecorder; handBack(): AgentPageRecords } {
  const out: AgentPageRecords = { files: [], baselines: [], requests: [], lines: [], details: null };
  let bytes = 0;
  const count = (data: Buffer) => {
    bytes += data.byteLength;
    if (bytes > AGENT_MAX_FILE_BYTES)
      throw ApplicationFailure.nonRetryable(`the step's screenshots and files come to more than ${AGENT_MAX_FILE_BYTES} bytes, which an agent cannot hand back; take fewer or smaller (not full-page) screenshots`, 'AgentOutputTooLarge');
  };
  const get = (path: string) =>
    fetch(`${gateway.url}${path}`, { headers: { 'x-api-key': gateway.apiKey }, signal: AbortSignal.timeout(GATEWAY_TIMEOUT_MS) });

  const recorder: PageRecorder = {
    async keep(_job, { name, kind, data, meta }) {
      // A trace is kept only when it fits in what is left: the step's screenshots come first.
      if (kind === 'trace' && bytes + data.byteLength > AGENT_MAX_FILE_BYTES) return false;
      count(data);
      out.files.push({ name, kind, data: data.toString('base64'), meta });
    },
    async baseline(k: BaselineKey) {
      const list = await get(`/api/v1/flows/${encodeURIComponent(k.flowId)}/baselines`);
      if (!list.ok) throw new Error(`reading the baselines of flow ${k.flowId} from ${gateway.url} answered ${list.status}`);
      const found = ((await list.json()) as { data: { step_id: string; name: string; browser: string; viewport: string; run_id: string }[] }).data.find(
        (b) => b.step_id === k.stepId && b.name === k.name && b.browser === k.browser && b.viewport === k.viewport,
      );
      if (!found) return null;
      const query = `browser=${encodeURIComponent(k.browser)}&viewport=${encodeURIComponent(k.viewport)}`;
      const image = await get(`/api/v1/flows/${encodeURIComponent(k.flowId)}/baselines/${encodeURIComponent(k.stepId)}/${encodeURIComponent(k.name)}.png?${query}`);
      if (image.status === 404) return null;
      if (!image.ok) throw new Error(`reading the baseline ${k.name} of flow ${k.flowId} from ${gateway.url} answered ${image.status}`);
      return { png: Buffer.from(await image.arrayBuffer()), runId: found.run_id };
    },
    async setBaseline(k, png, size) {
      count(png);
      out.baselines.push({ name: k.name, browser: k.browser, viewport: k.viewport, data: png.toString('base64'), ...size });
    },
    async flush(_job, { requests, lines, details }) {
      out.requests = requests.map((r) => ({ ...r, ts: r.ts.toISOString() }));
      out.lines = lines.map(({ ts, ...l }) => (ts ? { ...l, ts: ts.toISOString() } : l));
      out.details = details;
    },
  };
  return { recorder, handBack: () => out };
}

const KINDS: ReadonlySet<string> = new Set<ArtifactKind>(['screenshot', 'diff', 'html', 'trace']);
/** More than a browser attempt records (runtime.ts keeps at most 2,000 requests and 1,000 console lines). */
const MAX_HANDED_BACK = { files: 200, baselines: 100, requests: 2000, lines: 1000 };

/**
 * What an agent handed back, checked before anything is written: an agent is a machine the platform
 * does not trust, and a record that could never be written would be retried for ever.
 */
function checkHandedBack(records: AgentPageRecords): void {
  const refuse = (why: string) => {
    throw ApplicationFailure.nonRetryable(`the agent handed back ${why}`, 'AgentRecordsInvalid');
  };
  for (const [what, max] of Object.entries(MAX_HANDED_BACK))
    if ((records[what as keyof typeof MAX_HANDED_BACK]?.length ?? 0) > max) refuse(`more than ${max} ${what}`);
  const bytes = [...records.files, ...records.baselines].reduce((n, f) => n + Math.ceil((f.data.length * 3) / 4), 0);
  if (bytes > AGENT_MAX_FILE_BYTES) refuse(`${bytes} bytes of files (at most ${AGENT_MAX_FILE_BYTES})`);
  for (const name of [...records.files.map((f) => f.name), ...records.baselines.map((b) => b.name)]) {
    try {
      artifactKey(name);
    } catch {
      refuse(`a file named ${JSON.stringify(name.slice(0, 100))}`);
    }
  }
  for (const f of records.files) if (!KINDS.has(f.kind)) refuse(`a file of kind ${JSON.stringify(String(f.kind).slice(0, 50))}`);
}

/** Records what an agent handed back through the platform's own recorder; the run's account, flow and step are the platform's, never the agent's. */
export async function recordHandedBack(
  recorder: PageRecorder,
  attempt: { runId: string; stepKey: string; attempt: number; accountId: string; flowId: string; publicRunId: string },
  records: AgentPageRecords,
): Promise<void> {
  checkHandedBack(records);
  for (const f of records.files) await recorder.keep(attempt, { name: f.name, kind: f.kind, data: Buffer.from(f.data, 'base64'), meta: f.meta });
  for (const b of records.baselines)
    await recorder.setBaseline(
      { accountId: attempt.accountId, flowId: attempt.flowId, stepId: attempt.stepKey, name: b.name, browser: b.browser, viewport: b.viewport },
      Buffer.from(b.data, 'base64'),
      { width: b.width, height: b.height },
      attempt.publicRunId,
    );
  if (records.details)
    await recorder.flush(attempt, {
      requests: records.requests.map((r) => ({ ...r, ts: new Date(r.ts) })),
      lines: records.lines.map(({ ts, ...l }): LogLine => (ts ? { ...l, ts: new Date(ts) } : l)),
      details: records.details,
    });
}

/** How many bytes of a payload the files of `records` take (base64). */
export const handedBackBytes = (records: AgentPageRecords): number => [...records.files, ...records.baselines].reduce((n, f) => n + f.data.length, 0);
