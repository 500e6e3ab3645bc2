/**
 * Completion webhooks against the real stack: a flow's `notify` is called when its runs finish,
 * a trigger's when the batch finishes; each POST is a Standard Webhook (webhook-id, -timestamp,
 * -signature) that a receiver verifies with the `standardwebhooks` library, retried with the same
 * id when the receiver fails, signed with both secrets for a day after a rotation, and recorded in
 * the run's log.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { WebhookSecretRotation1734200000000 } from '../db/migrations/1734200000000-webhook-secret-rotation';
import { until, withStack, type Loose } from './harness';
import type { RecordedRequest } from './stub-server';

let flakyCalls = 0;

const stack = withStack({
  workers: true,
  stub: (req) => {
    if (req.url === '/bad') return { status: 500, body: { bad: true } };
    if (req.url === '/flaky') return ++flakyCalls === 1 ? { status: 503, body: {} } : { status: 204 };
    return { body: { ok: true } };
  },
  app: 'shop',
});

const posted = (path: string) => stack.stub.requests.filter((r) => r.method === 'POST' && r.url === path);

const headersOf = (req: RecordedRequest): Record<string, string> => req.headers as Record<string, string>;

/** Verifies as a receiver does, over the body as sent (the stub's JSON parse keeps its text: the gateway sends compact JSON). */
function verify(req: RecordedRequest, secret: string): boolean {
  try {
    new Webhook(secret).verify(JSON.stringify(req.body), headersOf(req));
    return true;
  } catch (err) {
    if (err instanceof WebhookVerificationError) return false;
    throw err;
  }
}

it('when runs and their batch finish, then the flow and trigger webhooks that want the outcome get a signed POST, recorded in the run log', async () => {
  const notify = [
    { url: `${stack.stub.url}/on-failure`, on: ['failed'] },
    { url: `${stack.stub.url}/always` },
  ];
  const ok = { id: 'hooked-ok', name: 'ok', notify, steps: [{ id: 'x', type: 'transform', config: { expression: '1' } }] };
  const bad = { id: 'hooked-bad', name: 'bad', notify, steps: [{ id: 'call', type: 'http', config: { url: `${stack.stub.url}/bad` }, retry: { maxAttempts: 1 } }] };
  expect((await stack.call('POST', '/api/v1/flows', ok, stack.key)).status).toBe(201);
  expect((await stack.call('POST', '/api/v1/flows', bad, stack.key)).status).toBe(201);
  const t = await stack.call('POST', '/api/v1/flows/run', { app_id: stack.appId, flow_ids: ['hooked-ok', 'hooked-bad'], max_parallel: 2, notify: [{ url: `${stack.stub.url}/batch`, on: ['finished'] }] }, stack.key);
  expect(t.status).toBe(200);
  const [okRun, badRun] = t.body.runs.map((r: Loose) => r.id);

  const batchHook = await until('the batch webhook', () => posted('/batch')[0]);
  await until('both run webhooks', () => (posted('/always').length === 2 ? true : undefined));
  const secret = (await stack.call('GET', '/api/v1/webhook-secret', undefined, stack.key)).body.secret;
  expect(secret).toMatch(/^whsec_/);

  expect(batchHook.body).toEqual({
    event: 'batch.finished',
    batch_id: t.body.batch_id,
    status: 'failed',
    links: { batch: expect.stringMatching(new RegExp(`^http.*/ui/batches/${t.body.batch_id}$`)), batch_api: expect.stringContaining(`/api/v1/runs/status?batch_id=${t.body.batch_id}`) },
  });
  const failure = posted('/on-failure');
  expect(failure).toHaveLength(1);
  expect(failure[0].body).toMatchObject({ event: 'run.finished', run_id: badRun, batch_id: t.body.batch_id, status: 'failed', error: { step: 'call' } });
  // A person follows `run` to the run's page; `run_api` is the JSON resource.
  expect((failure[0].body as Loose).links).toMatchObject({
    run: expect.stringMatching(new RegExp(`^http.*/ui/runs/${badRun}$`)),
    run_api: expect.stringMatching(new RegExp(`/api/v1/runs/${badRun}$`)),
  });
  expect(posted('/always').map((r) => (r.body as Loose).run_id).sort()).toEqual([okRun, badRun].sort());
  for (const req of [batchHook, ...failure, ...posted('/always')]) {
    expect(verify(req, secret)).toBe(true);
    expect(req.headers['x-flowruns-signature']).toBeUndefined();
    expect(req.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
  }
  expect(new Set([batchHook, ...failure, ...posted('/always')].map((r) => r.headers['webhook-id'])).size).toBe(4);
  expect(verify(batchHook, `whsec_${Buffer.from('someone else entirely, 32 bytes!').toString('base64')}`)).toBe(false);

  const log = await fetch(`${stack.baseUrl}/api/v1/runs/${badRun}/artifacts/log.jsonl`, { headers: { 'X-API-Key': stack.key } });
  expect(await log.text()).toContain(`webhook run.finished to ${stack.stub.url}/on-failure: delivered (HTTP 200, attempt 1)`);

  // The FlowRun-objects contract shows notifications as `slack` nodes after the steps that end the run.
  const objects = async (runId: string) => (await stack.call('GET', `/v1/ops/flowrun/${runId}`, undefined, stack.key)).body as Loose;
  const bad001 = await objects(badRun);
  const slack = bad001.nodes.filter((n: Loose) => n.data.task_type === 'slack');
  expect(slack.map((n: Loose) => [n.data.uri, n.data.status, n.data.attempts])).toEqual([
    [`${stack.stub.url}/on-failure`, 'passed', 1],
    [`${stack.stub.url}/always`, 'passed', 1],
  ]);
  expect(bad001.edges).toEqual(expect.arrayContaining([expect.objectContaining({ source: 'call', target: slack[0].id })]));
  const ok001 = await objects(okRun);
  expect(ok001.nodes.filter((n: Loose) => n.data.task_type === 'slack').map((n: Loose) => n.data.status)).toEqual(['skipped', 'passed']);
});

it('when a receiver fails, then the webhook is retried with backoff and each attempt is in the run log', async () => {
  const flow = { id: 'hooked-flaky', name: 'flaky', notify: [{ url: `${stack.stub.url}/flaky` }], steps: [{ id: 'x', type: 'transform', config: { expression: '1' } }] };
  expect((await stack.call('POST', '/api/v1/flows', flow, stack.key)).status).toBe(201);
  const t = await stack.call('POST', '/api/v1/flows/run', { app_id: stack.appId, flow_ids: ['hooked-flaky'] }, stack.key);
  const runId = t.body.runs[0].id;
  await until('the second delivery', () => (posted('/flaky').length === 2 ? true : undefined));
  const lines = await until('both attempts in the log', async () => {
    const text = await (await fetch(`${stack.baseUrl}/api/v1/runs/${runId}/artifacts/log.jsonl`, { headers: { 'X-API-Key': stack.key } })).text();
    const hooks = text.split('\n').filter((l) => l.includes('/flaky')).map((l) => JSON.parse(l).message as string);
    return hooks.length === 2 ? hooks : undefined;
  });
  expect(lines[0]).toMatch(/attempt 1 of 6 failed \(HTTP 503\); retrying/);
  expect(lines[1]).toMatch(/delivered \(HTTP 204, attempt 2\)/);
  // Both attempts are the same delivery to a receiver: one id, each attempt's own timestamp and signature.
  const [first, second] = posted('/flaky');
  expect(first.headers['webhook-id']).toMatch(/^msg_/);
  expect(second.headers['webhook-id']).toBe(first.headers['webhook-id']);
  expect(Number(second.headers['webhook-timestamp'])).toBeGreaterThanOrEqual(Number(first.headers['webhook-timestamp']));
  const secret = (await stack.call('GET', '/api/v1/webhook-secret', undefined, stack.key)).body.secret;
  expect(verify(first, secret) && verify(second, secret)).toBe(true);
});

it('when a webhook is not an http URL or names an unknown outcome, then saving the flow is a 400 naming the field', async () => {
  const steps = [{ id: 'x', type: 'transform', config: { expression: '1' } }];
  const scheme = await stack.call('POST', '/api/v1/flows', { id: 'bad-hook', name: 'b', notify: [{ url: 'ftp://example.com/x' }], steps }, stack.key);
  expect(scheme.status).toBe(400);
  expect(scheme.body.detail[0].loc).toEqual(['body', 'notify', 0, 'url']);
  const on = await stack.call('POST', '/api/v1/flows', { id: 'bad-hook', name: 'b', notify: [{ url: `${stack.stub.url}/x`, on: ['sometimes'] }], steps }, stack.key);
  expect(on.status).toBe(400);
  expect(on.body.detail[0].loc).toEqual(['body', 'notify', 0, 'on', 0]);
  expect((await stack.call('GET', '/api/v1/webhook-secret', undefined, null)).status).toBe(401);
});

interface Received {
  url: string;
  raw: string;
  headers: Record<string, string>;
}

/** A receiver as the README shows one: it reads the raw body and verifies it with the `standardwebhooks` library. */
async function startReceiver(secret: () => string): Promise<{ url: string; received: Received[]; verified: boolean[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const verified: boolean[] = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (raw += chunk));
    req.on('end', () => {
      const headers = req.headers as Record<string, string>;
      received.push({ url: req.url ?? '/', raw, headers });
      try {
        new Webhook(secret()).verify(raw, headers);
        verified.push(true);
        res.writeHead(204).end();
      } catch {
        verified.push(false);
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, received, verified, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const verifies = (secret: string, d: Received): boolean => {
  try {
    new Webhook(secret).verify(d.raw, d.headers);
    return true;
  } catch {
    return false;
  }
};

describe('Standard Webhooks secrets', () => {
  let account: { accountId: string; apiKey: string };
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let current = '';
  let app: string;

  beforeAll(async () => {
    account = await stack.newAccount();
    receiver = await startReceiver(() => current);
    app = (await stack.call('POST', '/api/v1/apps', { name: 'hooked', platform: 'web' }, account.apiKey)).body.id;
    const flow = { id: 'rotating', notify: [{ url: `${receiver.url}/hook` }], steps: [{ id: 'x', type: 'transform', config: { expression: '1' } }] };
    expect((await stack.call('POST', '/api/v1/flows', flow, account.apiKey)).status).toBe(201);
  });
  afterAll(() => receiver?.close());

  async function deliveryOfARun(): Promise<Received> {
    const before = receiver.received.length;
    const t = await stack.call('POST', '/api/v1/flows/run', { app_id: app, flow_ids: ['rotating'] }, account.apiKey);
    expect(t.status).toBe(200);
    return until('the delivery', () => receiver.received[before]);
  }

  it('when the secret is rotated, then the new one is answered and for a day deliveries verify with both, then with the new one only', async () => {
    const old = (await stack.call('GET', '/api/v1/webhook-secret', undefined, account.apiKey)).body;
    expect(old).toEqual({ secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/) });
    current = old.secret;
    const before = await deliveryOfARun();
    expect(receiver.verified.at(-1)).toBe(true);
    expect(before.headers['webhook-signature'].split(' ')).toHaveLength(1);

    const runOnly = (await stack.call('POST', '/api/v1/api-keys', { name: 'ci', scopes: ['run', 'read'] }, account.apiKey)).body.apiKey;
    expect((await stack.call('POST', '/api/v1/webhook-secret/rotate', undefined, runOnly)).status).toBe(403);
    expect((await stack.call('POST', '/api/v1/webhook-secret/rotate', undefined, null)).status).toBe(401);

    const rotated = await stack.call('POST', '/api/v1/webhook-secret/rotate', undefined, account.apiKey);
    expect(rotated.status).toBe(200);
    expect(rotated.body).toEqual({ secret: expect.stringMatching(/^whsec_/) });
    expect(rotated.body.secret).not.toBe(old.secret);
    expect((await stack.call('GET', '/api/v1/webhook-secret', undefined, account.apiKey)).body.secret).toBe(rotated.body.secret);

    // A receiver that has not switched yet and one that has both accept the delivery.
    const during = await deliveryOfARun();
    expect(during.headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(verifies(old.secret, during)).toBe(true);
    expect(verifies(rotated.body.secret, during)).toBe(true);

    await stack.dataSource.query(`UPDATE accounts SET webhook_secret_rotated_at = now() - interval '25 hours' WHERE id = $1`, [account.accountId]);
    current = rotated.body.secret;
    const after = await deliveryOfARun();
    expect(receiver.verified.at(-1)).toBe(true);
    expect(after.headers['webhook-signature'].split(' ')).toHaveLength(1);
    expect(verifies(old.secret, after)).toBe(false);

  });

  it('when a captured delivery is replayed later, or with a fresh timestamp, then the receiver\'s verification refuses it', async () => {
    current = (await stack.call('GET', '/api/v1/webhook-secret', undefined, account.apiKey)).body.secret;
    const captured = await deliveryOfARun();
    expect(verifies(current, captured)).toBe(true);

    const sixMinutesLater = Date.now() + 6 * 60_000;
    const clock = jest.spyOn(Date, 'now').mockReturnValue(sixMinutesLater);
    try {
      expect(() => new Webhook(current).verify(captured.raw, captured.headers)).toThrow('Message timestamp too old');
    } finally {
      clock.mockRestore();
    }
    const retimed = { ...captured.headers, 'webhook-timestamp': String(Math.floor(sixMinutesLater / 1000)) };
    expect(() => new Webhook(current).verify(captured.raw, retimed)).toThrow(WebhookVerificationError);
    const tampered = captured.raw.replace('"succeeded"', '"failed"');
    expect(tampered).not.toBe(captured.raw);
    expect(() => new Webhook(current).verify(tampered, captured.headers)).toThrow('No matching signature found');

    // Sent to the receiver again as captured, later: refused (the receiver answers 400).
    const { 'webhook-id': id, 'webhook-signature': signature } = captured.headers;
    const stale = String(Math.floor(Date.now() / 1000) - 600);
    const replay = await fetch(`${receiver.url}/hook`, { method: 'POST', headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': stale, 'webhook-signature': signature }, body: captured.raw });
    expect(replay.status).toBe(400);
  });

  it('when migration 1734200000000 meets a secret written before it (base64url), then it keeps the key bytes, in the base64 receivers decode', async () => {
    const bytes = Buffer.from(Array.from({ length: 24 }, (_, i) => (i % 2 ? 0xfb : 0xff)));
    expect(bytes.toString('base64url')).toMatch(/[-_]/);
    const q = stack.dataSource.createQueryRunner();
    await q.connect();
    await q.startTransaction();
    try {
      const migration = new WebhookSecretRotation1734200000000();
      await migration.down(q);
      await q.query(`UPDATE accounts SET webhook_secret = $2 WHERE id = $1`, [account.accountId, `whsec_${bytes.toString('base64url')}`]);
      await migration.up(q);
      const [{ webhook_secret: secret }] = await q.query(`SELECT webhook_secret FROM accounts WHERE id = $1`, [account.accountId]);
      expect(secret).toBe(`whsec_${bytes.toString('base64')}`);
      const at = new Date();
      expect(new Webhook(secret).sign('msg_1', at, '{}')).toBe(new Webhook(bytes, { format: 'raw' }).sign('msg_1', at, '{}'));
    } finally {
      await q.rollbackTransaction();
      await q.release();
    }
  });
});
