/**
 * Live progress as Server-Sent Events, for a batch (`/api/v1/batches/{id}/events`) or a run
 * (`/api/v1/runs/{id}/events`). The events are the run log lines, in the order they were written
 * (each line's platform-wide sequence number is its event id), named by what they record:
 * `run.started`, `step.started`, `step.finished`, `run.waiting`, `run.finished`, `batch.finished`,
 * and `log` for every other line. A stream replays from the start (or after `Last-Event-ID`), then
 * follows, and ends after `batch.finished` (`run.finished` for a run), or once every run it
 * follows is finished or gone and no line is left (an external run, a run stopped outside the platform).
 */
import type { Request, Response } from 'express';
import type { DataSource } from 'typeorm';
import { logKeyAtOrBefore, logLinesAfter, type StreamedLogRow } from '../../../db/run-logs';
import { scopeStillWriting, type RunScope } from '../../../db/runs';
import { NotFoundError } from '../../../domain/errors';
import type { RunDeps } from '../deps';
import * as q from './queries';

export const EVENT_NAMES = ['run.started', 'step.started', 'step.finished', 'run.waiting', 'run.finished', 'batch.finished', 'log'] as const;
export type EventName = (typeof EVENT_NAMES)[number];

export interface StreamOptions {
  /** A comment line this often keeps proxies from closing an idle stream. */
  heartbeatMs?: number;
  /** How often an open stream looks for new lines without being told of any (its safety poll). */
  pollMs?: number;
}

/**
 * A line is delivered once it is this old: a line's sequence number is taken when it is written,
 * and a transaction still open could commit an earlier number after a later one was read.
 */
const SETTLE_MS = 250;
const PAGE = 500;
/** Woken by the LISTEN of its gateway when lines of what it follows are committed, a stream still looks this often on its own. */
const SAFETY_POLL_MS = 2000;

type LogRow = StreamedLogRow;

const STEP_FINISHED = /^step\.(.+)\.(succeeded|failed|skipped|cancelled)$/;
const STEP_STARTED = /^step\.(.+)\.attempt\.(\d+)$/;
const STEP_WAITING = /^step\.(.+)\.waiting$/;

/** The event a log line stands for, and what it carries besides the line itself. */
function eventOf(row: LogRow): { name: EventName; extra: Record<string, unknown> } {
  if (row.key === 'run.started') return { name: 'run.started', extra: {} };
  if (row.key === 'run.finished') return { name: 'run.finished', extra: { status: row.run_status } };
  if (row.key === 'batch.finished') return { name: 'batch.finished', extra: {} };
  let m = STEP_FINISHED.exec(row.key);
  if (m) return { name: 'step.finished', extra: { status: m[2] } };
  m = STEP_STARTED.exec(row.key);
  if (m) return { name: 'step.started', extra: { attempt: Number(m[2]) } };
  if (STEP_WAITING.test(row.key)) return { name: 'run.waiting', extra: {} };
  return { name: 'log', extra: {} };
}

type Scope = RunScope;

async function linesAfter(db: DataSource, scope: Scope, after: bigint): Promise<LogRow[]> {
  return logLinesAfter(db, scope, after, SETTLE_MS / 1000, PAGE);
}

/** True when the stream's end line is at or before `after`: a client resuming past the end gets no more events. */
async function endedBy(db: DataSource, scope: Scope, endsWith: EventName, after: bigint): Promise<boolean> {
  if (after === 0n) return false;
  return logKeyAtOrBefore(db, scope, endsWith, after);
}

/** How often an idle stream checks whether what it follows has ended without its end line (a run finished outside the platform's recording, or deleted). */
const SETTLED_CHECK_MS = 2000;
/** A run finished this long ago has written every line it will (its end line, its batch's), with room to spare. */
const ENDED_AFTER_MS = 10_000;

/** True when every run the stream follows is finished (or gone): no line is coming any more once the settle window has passed. */
async function settled(db: DataSource, scope: Scope): Promise<boolean> {
  return !(await scopeStillWriting(db, scope, ENDED_AFTER_MS / 1000));
}

/** `Last-Event-ID` as a sequence number; anything else starts from the beginning. */
function resumeAfter(req: Request): bigint {
  const raw = req.get('last-event-id')?.trim() ?? (typeof req.query.lastEventId === 'string' ? req.query.lastEventId : '');
  return /^\d{1,19}$/.test(raw) ? BigInt(raw) : 0n;
}

async function stream(
  deps: RunDeps,
  req: Request,
  res: Response,
  auth: { accountId: string; keyId: string },
  scope: Scope,
  endsWith: EventName,
  options: StreamOptions,
): Promise<undefined> {
  const shared = deps.shared;
  if (!shared) throw new Error('event streams need the shared gateway state (startGateway builds it)');
  const close = await shared.streams.open(auth, deps.config.maxStreamsPerAccount);
  let closed = false;
  const wake: { fn?: () => void } = {};
  /** Set when woken while not waiting (reading): the next wait is skipped. */
  let poked = false;
  const wakeUp = () => {
    poked = true;
    wake.fn?.();
  };
  /**
   * A notification means lines were committed; each is read once it is SETTLE_MS old, so the
   * stream looks that long after the first notification (and once more if others came meanwhile).
   */
  let settling: NodeJS.Timeout | undefined;
  let again = false;
  const notified = () => {
    if (settling) return void (again = true);
    settling = setTimeout(() => {
      settling = undefined;
      wakeUp();
      if (again) {
        again = false;
        notified();
      }
    }, SETTLE_MS + 20);
  };
  const unsubscribe = shared.notifier.subscribe('batchId' in scope ? scope.batchId : scope.runId, notified);
  req.on('close', () => {
    closed = true;
    wakeUp();
  });
  res.status(200).set({ 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  res.flushHeaders();
  res.write(`retry: 2000\n\n`);
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const pollMs = options.pollMs ?? SAFETY_POLL_MS;
  let after = resumeAfter(req);
  let lastBeat = Date.now();
  let lastSettledCheck = Date.now();
  try {
    if (await endedBy(deps.dataSource, scope, endsWith, after)) closed = true;
    while (!closed) {
      poked = false;
      const rows = await linesAfter(deps.dataSource, scope, after);
      let ended = false;
      for (const row of rows) {
        after = BigInt(row.seq);
        const { name, extra } = eventOf(row);
        const data = {
          run_id: row.public_id,
          batch_id: row.batch_id,
          step_id: row.step_id,
          timestamp: row.ts.toISOString(),
          level: row.level,
          message: row.message,
          ...extra,
        };
        res.write(`id: ${row.seq}\nevent: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
        if (name === endsWith) {
          ended = true;
          break;
        }
      }
      if (ended) break;
      if (rows.length === PAGE) continue;
      if (rows.length === 0 && Date.now() - lastSettledCheck >= SETTLED_CHECK_MS) {
        lastSettledCheck = Date.now();
        if (await settled(deps.dataSource, scope)) break;
      }
      if (Date.now() - lastBeat >= heartbeatMs) {
        res.write(`: keep-alive\n\n`);
        lastBeat = Date.now();
      }
      // Without its LISTEN connection (being re-established) the stream polls as it used to.
      const waitMs = Math.min(shared.notifier.listening ? pollMs : SETTLE_MS, Math.max(10, heartbeatMs - (Date.now() - lastBeat)));
      await new Promise<void>((resolve) => {
        if (poked || closed) return resolve();
        const t = setTimeout(resolve, waitMs);
        wake.fn = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wake.fn = undefined;
    }
  } finally {
    unsubscribe();
    clearTimeout(settling);
    await close();
    res.end();
  }
  return undefined;
}

/** `GET /api/v1/batches/{batchId}/events`; errors name `batchId`. */
export async function batchEvents(deps: RunDeps, req: Request, res: Response, auth: { accountId: string; keyId: string }, batchId: string, options: StreamOptions = {}): Promise<undefined> {
  const batch = await q.findBatch(deps.dataSource, auth.accountId, batchId);
  if (!batch) throw new NotFoundError('batch', ['batchId']);
  return stream(deps, req, res, auth, { batchId: batch.id }, 'batch.finished', options);
}

/** `GET /api/v1/runs/{runId}/events`; errors name `runId`. */
export async function runEvents(deps: RunDeps, req: Request, res: Response, auth: { accountId: string; keyId: string }, runId: string, options: StreamOptions = {}): Promise<undefined> {
  const run = await q.findRun(deps.dataSource, auth.accountId, runId);
  if (!run) throw new NotFoundError('run', ['runId']);
  return stream(deps, req, res, auth, { runId: run.id }, 'run.finished', options);
}
