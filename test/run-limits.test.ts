/**
 * Per-account bounds on the real stack, set low for this file's stack: an account at its bound of
 * running runs has the others wait, queued and in line, while another account's run goes through
 * at once; a queued run can be cancelled and never starts; `flow` steps start at most the bound of
 * runs under one root run, however they fan out, and nest no deeper than the depth bound.
 */
import { eventually, runDetailWhenEnded, withStack, type Loose } from './harness';

const MAX_RUNNING = 2;
const MAX_DESCENDANTS = 4;
const HOLD_MS = 1500;

/** Requests in flight at the stub, by the first segment of their path (one per account here). */
const inflight = new Map<string, number>();
const peak = new Map<string, number>();

const stack = withStack({
  env: { FLOWRUNS_MAX_RUNNING_RUNS_PER_ACCOUNT: String(MAX_RUNNING), FLOWRUNS_MAX_RUN_DESCENDANTS: String(MAX_DESCENDANTS) },
  workers: true,
  stub: async (req) => {
    const who = req.url.split('/')[1] ?? '';
    inflight.set(who, (inflight.get(who) ?? 0) + 1);
    peak.set(who, Math.max(peak.get(who) ?? 0, inflight.get(who)!));
    try {
      if (req.url.includes('/hold')) await new Promise((r) => setTimeout(r, req.url.includes('/long') ? 60_000 : HOLD_MS).unref());
      return { body: { ok: true } };
    } finally {
      inflight.set(who, inflight.get(who)! - 1);
    }
  },
});

interface Tenant {
  accountId: string;
  key: string;
  appId: string;
}

async function tenant(): Promise<Tenant> {
  const { accountId, apiKey: key } = await stack.newAccount();
  const appId = (await stack.call('POST', '/api/v1/apps', { name: 'shop', platform: 'web', baseUrl: stack.stub.url }, key)).body.id;
  return { accountId, key, appId };
}

async function flow(t: Tenant, id: string, steps: unknown[]): Promise<void> {
  const res = await stack.call('POST', '/api/v1/flows', { id, name: id, steps }, t.key);
  expect(res.status).toBe(201);
}

async function trigger(t: Tenant, flowId: string, runs: number, maxParallel = runs): Promise<{ batchId: string; runIds: string[] }> {
  const res = await stack.call('POST', '/api/v1/flows/run', { app_id: t.appId, flow_ids: [flowId], matrix: { I: Array.from({ length: runs }, (_, i) => i) }, max_parallel: maxParallel }, t.key);
  expect(res.status).toBe(200);
  return { batchId: res.body.batch_id ?? res.body.id, runIds: res.body.runs.map((r: Loose) => r.id) };
}

/** Runs of the account its rows say are running (or waiting on a step): what holds a slot. */
async function runningRows(accountId: string): Promise<number> {
  const [row] = (await stack.dataSource.query(`SELECT count(*)::int AS n FROM runs WHERE account_id = $1 AND status IN ('running', 'waiting')`, [accountId])) as { n: number }[];
  return row!.n;
}

const runOf = async (t: Tenant, runId: string): Promise<Loose> => (await stack.call('GET', `/api/v1/runs/${runId}`, undefined, t.key)).body;

async function logOf(t: Tenant, runId: string): Promise<string> {
  const res = await fetch(`${stack.baseUrl}/api/v1/runs/${runId}/artifacts/log.jsonl`, { headers: { 'x-api-key': t.key } });
  return res.text();
}

it('when an account triggers more runs than its bound, then at most the bound run at once, the rest wait queued in order and all finish, while another account runs at once', async () => {
  const a = await tenant();
  const b = await tenant();
  await flow(a, 'hold', [{ id: 'call', type: 'http', config: { url: `${stack.stub.url}/a/hold` } }]);
  await flow(b, 'quick', [{ id: 'call', type: 'http', config: { url: `${stack.stub.url}/b/quick` } }]);

  let maxRows = 0;
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      maxRows = Math.max(maxRows, await runningRows(a.accountId));
      await new Promise((r) => setTimeout(r, 50));
    }
  })();

  // Three batches of two: the bound is per account, across batches. Each is triggered once the
  // one before has asked for its slots, so their turns come in that order.
  const waiting = (id: string) => eventually(() => logOf(a, id), (text) => text.includes('waiting: account has'), 10_000);
  const batches = [await trigger(a, 'hold', 2)];
  await eventually(async () => inflight.get('a') ?? 0, (n) => n === MAX_RUNNING, 15_000);
  batches.push(await trigger(a, 'hold', 2));
  await Promise.all(batches[1]!.runIds.map(waiting));
  batches.push(await trigger(a, 'hold', 2));
  const runIds = batches.flatMap((x) => x.runIds);

  // A run past the bound is queued, and its log says why.
  const last = runIds[runIds.length - 1]!;
  expect((await runOf(a, last)).status).toBe('queued');
  expect(await waiting(last)).toMatch(new RegExp(`waiting: account has ${MAX_RUNNING} runs running \\(FLOWRUNS_MAX_RUNNING_RUNS_PER_ACCOUNT=${MAX_RUNNING}\\); \\d+ queued before this one`));

  // Meanwhile another account's run goes through at once.
  const startedB = Date.now();
  const other = await trigger(b, 'quick', 1);
  const runB = await runDetailWhenEnded(stack, other.runIds[0]!, b.key, 15_000);
  const tookB = Date.now() - startedB;
  expect(runB.status).toBe('succeeded');
  expect(tookB).toBeLessThan(HOLD_MS * 2);
  const openOfA = (await Promise.all(runIds.map((id) => runOf(a, id)))).filter((r) => !['succeeded', 'failed', 'cancelled', 'timed_out'].includes(r.status));
  expect(openOfA.length).toBeGreaterThanOrEqual(MAX_RUNNING);

  const ended = await Promise.all(runIds.map((id) => runDetailWhenEnded(stack, id, a.key, 60_000)));
  watching = false;
  await watcher;
  expect(ended.map((r) => r.status)).toEqual(runIds.map(() => 'succeeded'));
  expect(peak.get('a')).toBe(MAX_RUNNING);
  expect(maxRows).toBeLessThanOrEqual(MAX_RUNNING);
  expect(maxRows).toBeGreaterThan(0);

  // In line: each batch's runs started only after the runs of the batch before had.
  const startedAt = async (id: string) => Date.parse((await runOf(a, id)).started_at);
  const starts = await Promise.all(batches.map((x) => Promise.all(x.runIds.map(startedAt))));
  expect(Math.min(...starts[1]!)).toBeGreaterThanOrEqual(Math.max(...starts[0]!));
  expect(Math.min(...starts[2]!)).toBeGreaterThanOrEqual(Math.max(...starts[1]!));
  // The slots of the ended runs are free again.
  expect(await stack.dataSource.query(`SELECT run_id FROM run_slots WHERE account_id = $1 AND granted_at IS NOT NULL AND run_id IN (SELECT id FROM runs WHERE status IN ('queued', 'running', 'waiting'))`, [a.accountId])).toEqual([]);
}, 120_000);

it('when a queued run is cancelled, then it ends cancelled at once and never starts; cancelling the batch ends the other queued run the same way', async () => {
  const c = await tenant();
  await flow(c, 'long', [{ id: 'call', type: 'http', config: { url: `${stack.stub.url}/c/hold/long/{{ run.id }}`, timeoutMs: 120_000 } }]);
  const { batchId, runIds } = await trigger(c, 'long', MAX_RUNNING + 2);
  await eventually(async () => inflight.get('c') ?? 0, (n) => n === MAX_RUNNING, 15_000);
  const queued = runIds.filter((id) => !stack.stub.requests.some((r) => r.url.endsWith(`/${id}`)));
  expect(queued).toHaveLength(2);
  for (const id of queued) expect((await runOf(c, id)).status).toBe('queued');

  const cancel = await stack.call('POST', `/api/v1/runs/${queued[0]}/cancel`, undefined, c.key);
  expect(cancel.status).toBe(202);
  const one = await eventually(() => runOf(c, queued[0]!), (r) => r.status === 'cancelled', 5000);
  expect(one.status).toBe('cancelled');

  const all = await stack.call('POST', `/api/v1/batches/${batchId}/cancel`, undefined, c.key);
  expect(all.status).toBe(202);
  const ended = await Promise.all(runIds.map((id) => runDetailWhenEnded(stack, id, c.key, 20_000)));
  expect(ended.map((r) => r.status)).toEqual(runIds.map(() => 'cancelled'));
  // Neither queued run ever started: no request, no start time, no start in its log.
  await new Promise((r) => setTimeout(r, 2500));
  for (const id of queued) {
    expect(stack.stub.requests.filter((r) => r.url.endsWith(`/${id}`))).toEqual([]);
    expect((await runOf(c, id)).started_at).toBeNull();
    expect(await logOf(c, id)).not.toContain('run started');
  }
}, 60_000);

it('when flow steps fan out past the descendants bound, then the flow step that would pass it fails naming the bound and its variable, and no more runs start', async () => {
  const d = await tenant();
  await flow(d, 'leaf', [{ id: 'one', type: 'transform', config: { expression: '1' } }]);
  const fan = (to: string) => [0, 1, 2].map((i) => ({ id: `sub${i}`, type: 'flow', dependsOn: [], config: { flowId: to } }));
  await flow(d, 'mid', fan('leaf'));
  await flow(d, 'top', fan('mid'));

  // 3 mids and 9 leaves would start without the bound.
  const { runIds } = await trigger(d, 'top', 1);
  const top = await runDetailWhenEnded(stack, runIds[0]!, d.key, 60_000);
  expect(top.status).toBe('failed');
  expect(JSON.stringify(top.error)).toContain(`FLOWRUNS_MAX_RUN_DESCENDANTS=${MAX_DESCENDANTS}`);

  await new Promise((r) => setTimeout(r, 1000));
  const [runs] = (await stack.dataSource.query(`SELECT count(*)::int AS n FROM runs WHERE account_id = $1`, [d.accountId])) as { n: number }[];
  expect(runs!.n).toBe(MAX_DESCENDANTS + 1);
  const failed = (await stack.dataSource.query(`SELECT s.error FROM step_runs s JOIN runs r ON r.id = s.run_id WHERE r.account_id = $1 AND s.status = 'failed'`, [d.accountId])) as {
    error: string;
  }[];
  // The steps refused are those the bound stopped; the others failed because a child of theirs was.
  const refused = new RegExp(
    `^flow (mid|leaf) not started: ${MAX_DESCENDANTS} runs were already started through flow steps under run ${top.id}, the most one run may start \\(FLOWRUNS_MAX_RUN_DESCENDANTS=${MAX_DESCENDANTS}\\)$`,
  );
  expect(failed.filter((f) => refused.test(f.error)).length).toBeGreaterThan(0);
}, 90_000);

it('when flow steps nest deeper than five, then the step past the depth fails and the chain stops there', async () => {
  const e = await tenant();
  await flow(e, 'n6', [{ id: 'one', type: 'transform', config: { expression: '1' } }]);
  for (let i = 5; i >= 1; i--) await flow(e, `n${i}`, [{ id: 'down', type: 'flow', config: { flowId: `n${i + 1}` } }]);
  const { runIds } = await trigger(e, 'n1', 1);
  const top = await runDetailWhenEnded(stack, runIds[0]!, e.key, 60_000);
  expect(top.status).toBe('failed');
  expect(JSON.stringify(top.error)).toContain('sub-flows nest at most 5 deep (n1 → n2 → n3 → n4 → n5 → n6)');
  const [runs] = (await stack.dataSource.query(`SELECT count(*)::int AS n FROM runs WHERE account_id = $1`, [e.accountId])) as { n: number }[];
  expect(runs!.n).toBe(5);
}, 90_000);
