/**
 * The agent's side of the queue (db/agent-attempts.ts): the next step attempt for the caller's
 * account and agent name (a long poll), heartbeats that answer whether the run still wants it,
 * and the result. Everything is looked up by the key's account as well as the name, so another
 * account's agent of the same name never sees the attempt.
 */
import type { Response } from 'express';
import { z } from 'zod';
import { agentSeen, beatAgentAttempt, claimAgentAttempt, finishAgentAttempt, releaseAgentAttempt } from '../../../../db/agent-attempts';
import { isKeyLive } from '../../../../db/api-keys';
import { ConflictError, InvalidError, NotFoundError } from '../../../../domain/errors';
import type { AuthContext, GatewayDeps } from '../../deps';

/** How long a long poll waits for an attempt before it answers 204. */
export const AGENT_LONG_POLL_MS = 25_000;
/** The queue is read this often while a long poll waits. */
const CLAIM_EVERY_MS = 250;
/** A waiting long poll notes its agent as seen, and checks its key is still good, this often (the agents list's `lastPollTime`). */
const SEEN_EVERY_MS = 5000;

const iso = z.string().max(40).refine((s) => !Number.isNaN(Date.parse(s)), 'an ISO date-time');
const text = (max: number) => z.string().max(max);

/** `agent:<name>@<host>:<pid>` as apps/agent sends it; what the agents list shows under `pollers`. */
export const agentIdentitySchema = z.string().regex(/^[\x21-\x7e]{1,200}$/, 'printable ASCII without spaces (at most 200)');

const requestSchema = z.object({
  attempt: z.number().int().min(1),
  seq: z.number().int().min(0).optional(),
  ts: iso,
  method: text(20),
  url: text(10_000),
  status: z.number().int(),
  resourceType: text(50),
  durationMs: z.number(),
  responseSize: z.number(),
  error: text(10_000).nullable(),
});

const pageRecordsSchema = z.object({
  files: z.array(z.object({ name: text(300), kind: text(20), data: z.string(), meta: z.record(z.string(), z.unknown()) })).max(200),
  baselines: z
    .array(z.object({ name: text(300), browser: text(50), viewport: text(50), data: z.string(), width: z.number().int(), height: z.number().int() }))
    .max(100),
  requests: z.array(requestSchema).max(2000),
  lines: z
    .array(z.object({ key: text(300), level: z.enum(['debug', 'info', 'warn', 'error']), stepId: text(300).nullable().optional(), message: text(20_000), ts: iso.optional(), source: text(50).optional() }))
    .max(1000),
  details: z.unknown(),
});

const ran = { startedAt: iso, finishedAt: iso, requests: z.array(requestSchema).max(2000), browser: pageRecordsSchema.optional() };

/** What an attempt did, as activities/agent.ts answers it (`AgentAttempt`). */
export const agentAttemptResultSchema = z.discriminatedUnion('status', [
  z.object({ status: z.literal('skipped') }),
  z.object({ status: z.literal('succeeded'), output: z.unknown(), ...ran }),
  z.object({ status: z.literal('failed'), error: text(100_000), errorType: text(200).optional(), nonRetryable: z.boolean(), ...ran }),
]);

export const agentAttemptSchema = z.object({
  /** Quote it in the heartbeat and the result. */
  id: z.string(),
  /** The step attempt to run (activities/agent.ts `AgentCall`): the step, its scope and which attempt it is. */
  call: z.unknown(),
});

/** Whether a NUL character is in any string or key of `v`. */
function holdsNul(v: unknown): boolean {
  if (typeof v === 'string') return v.includes('\0');
  if (Array.isArray(v)) return v.some(holdsNul);
  if (v && typeof v === 'object') return Object.entries(v).some(([k, x]) => k.includes('\0') || holdsNul(x));
  return false;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether the caller's key is still live (not revoked, not expired): a long poll ends when it is not. */
async function keyStillLive(deps: Pick<GatewayDeps, 'dataSource'>, auth: AuthContext): Promise<boolean> {
  if (auth.isAdmin) return true;
  return isKeyLive(deps.dataSource, auth.keyId);
}

/** The caller's agent `name` is seen; 404 if the account has no agent of that name (it was removed: the agent registers again). */
async function seen(deps: Pick<GatewayDeps, 'dataSource'>, auth: AuthContext, name: string, identity: string): Promise<void> {
  if (!(await agentSeen(deps.dataSource, auth.accountId, name, identity))) throw new NotFoundError(`agent ${name} (register it with PUT /api/v1/agents/${name})`, ['agentId']);
}

/**
 * The next queued attempt for the caller's agent `name`, claimed for `identity`; waits up to
 * `waitMs` for one and answers undefined if none came, `'key-gone'` as soon as the caller's key is
 * revoked or expires. A claim whose client has gone is put back.
 */
export async function nextAgentAttempt(
  deps: Pick<GatewayDeps, 'dataSource'>,
  auth: AuthContext,
  name: string,
  identity: string,
  waitMs: number,
  res: Response,
): Promise<{ id: string; call: unknown } | 'key-gone' | undefined> {
  let gone = false;
  res.once('close', () => (gone = !res.writableFinished));
  const deadline = Date.now() + waitMs;
  let seenAt = 0;
  for (;;) {
    if (gone) return undefined;
    if (Date.now() - seenAt >= SEEN_EVERY_MS) {
      if (seenAt > 0 && !(await keyStillLive(deps, auth))) return 'key-gone';
      await seen(deps, auth, name, identity);
      seenAt = Date.now();
    }
    const claimed = await claimAgentAttempt(deps.dataSource, auth.accountId, name, identity);
    if (claimed) {
      if (gone) {
        await releaseAgentAttempt(deps.dataSource, claimed.id);
        return undefined;
      }
      return claimed;
    }
    if (gone || Date.now() + CLAIM_EVERY_MS > deadline) return undefined;
    await sleep(CLAIM_EVERY_MS);
  }
}

/** The caller's agent `name` is still at attempt `id`; `cancelled`: stop it (the run was cancelled, or the attempt was given up as lost). */
export async function beatAgent(deps: Pick<GatewayDeps, 'dataSource'>, auth: AuthContext, name: string, id: string, identity: string): Promise<{ cancelled: boolean }> {
  const beat = await beatAgentAttempt(deps.dataSource, auth.accountId, name, id);
  if (!beat) throw new NotFoundError(`attempt ${id} of agent ${name}`, ['attemptId']);
  await agentSeen(deps.dataSource, auth.accountId, name, identity);
  return beat;
}

/** The result of attempt `id`: the first one is kept; 409 when the attempt had already ended (cancelled, lost or answered). */
export async function resultOfAgent(deps: Pick<GatewayDeps, 'dataSource'>, auth: AuthContext, name: string, id: string, result: unknown): Promise<void> {
  // Postgres's jsonb holds no NUL character; a step's output with one is the agent's to escape.
  if (holdsNul(result)) throw new InvalidError('the result holds a NUL character (\\u0000), which cannot be stored', ['body']);
  const done = await finishAgentAttempt(deps.dataSource, auth.accountId, name, id, result);
  if (!done) throw new NotFoundError(`attempt ${id} of agent ${name}`, ['attemptId']);
  if (!done.kept) throw new ConflictError(`attempt ${id} had already ended (${done.status}); its result is not taken`, ['attemptId']);
}
