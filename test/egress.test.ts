/**
 * http steps under the egress policy, end to end: what a step may reach, checked on the address
 * actually connected and on every redirect hop, and response bodies capped. The workers allow one
 * loopback address (127.0.0.2, where a stub listens) and deny the rest of loopback (127.0.0.1,
 * where another stub listens). The policy's decisions and the egress fetch on their own are
 * test/unit/egress.test.ts.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseEgressAllow } from '../activities/egress';
import { MAX_REDIRECTS } from '../steps/http';
import { withStack } from './harness';
import type { Stub } from './stub-server';

/** A server on 127.0.0.2 (the one loopback address the end-to-end workers allow). */
async function startAllowedServer(loopbackUrl: string): Promise<{ url: string; hits: string[]; aborted: () => boolean; close(): Promise<void> }> {
  const hits: string[] = [];
  let bigAborted = false;
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    hits.push(url);
    if (url === '/ok') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ hello: 'world' }));
    } else if (url === '/page') {
      // A page on an allowed address that pulls an image and a fetch from a refused one.
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><title>p</title><img src="${loopbackUrl}/pixel.png"><script>fetch('${loopbackUrl}/secret').catch(() => console.log('fetch refused'))</script><p>page</p>`);
    } else if (url === '/to-loopback') {
      res.writeHead(302, { location: `${loopbackUrl}/secret` });
      res.end();
    } else if (url === '/to-localhost') {
      res.writeHead(307, { location: `${loopbackUrl.replace('127.0.0.1', 'localhost')}/secret` });
      res.end();
    } else if (url.startsWith('/hop/')) {
      const n = Number(url.slice('/hop/'.length));
      if (n === 0) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ arrived: true }));
      } else {
        res.writeHead(302, { location: `/hop/${n - 1}` });
        res.end();
      }
    } else if (url === '/big') {
      // 50 MB streamed in 64 KiB chunks with back-pressure: never held in memory at once.
      const chunk = Buffer.alloc(64 * 1024, 'a');
      let left = 50 * 1024 * 1024;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.on('close', () => {
        if (left > 0) bigAborted = true;
      });
      const pump = (): void => {
        while (left > 0 && !res.destroyed) {
          left -= chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        if (left <= 0) res.end();
      };
      pump();
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.2', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.2:${port}`,
    hits,
    aborted: () => bigAborted,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

describe('http steps under the egress policy, end to end (loopback denied but for 127.0.0.2)', () => {
  let allowed: Awaited<ReturnType<typeof startAllowedServer>>;
  /** The stub on 127.0.0.1, an address the workers refuse. */
  let loopback: Stub;
  let appId: string;

  const stack = withStack({
    // The workers' config: no loopback but 127.0.0.2, the default 5 MiB body cap.
    workers: { egressAllow: parseEgressAllow('127.0.0.2/32') },
    stub: () => ({ body: { secret: 'internal' } }),
    account: true,
    teardown: () => allowed?.close(),
  });

  beforeAll(async () => {
    loopback = stack.stub;
    allowed = await startAllowedServer(loopback.url);
    const app = await stack.call('POST', '/api/v1/apps', { name: 'egress', platform: 'web', baseUrl: allowed.url }, stack.key);
    expect(app.status).toBe(201);
    appId = app.body.id;
  });

  let seq = 0;
  async function runOnce(steps: Record<string, unknown>[]) {
    const id = `egress-${Date.now().toString(36)}-${seq++}`;
    const flow = await stack.call('POST', '/api/v1/flows', { id, name: id, steps }, stack.key);
    if (flow.status !== 201) throw new Error(`create flow: ${flow.status} ${JSON.stringify(flow.body)}`);
    const t = await stack.call('POST', '/api/v1/flows/run', { app_id: appId, source: 'ci', flow_ids: [id] }, stack.key);
    expect(t.status).toBe(200);
    const deadline = Date.now() + 45_000;
    let status: any;
    for (;;) {
      status = (await stack.call('GET', `/api/v1/runs/status?batch_id=${t.body.batch_id}`, undefined, stack.key)).body;
      if (status.is_complete) break;
      if (Date.now() > deadline) throw new Error(`batch not complete: ${JSON.stringify(status)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const run = (await stack.call('GET', `/api/v1/runs/${status.runs[0].id}`, undefined, stack.key)).body;
    const actions = Object.fromEntries(run.actions.map((a: any) => [a.step_id, a]));
    const net = await fetch(run.artifacts.network_requests_url, { headers: { 'x-api-key': stack.key } });
    const requests = (await net.text())
      .trim()
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l));
    return { run, actions, requests };
  }

  const retry = { maxAttempts: 3, initialIntervalMs: 50, backoffCoefficient: 1 };

  beforeEach(() => {
    loopback.requests.length = 0;
    allowed.hits.length = 0;
  });

  it("when a browser page pulls resources from a refused address, then they are blocked and recorded, and a page on one fails its step at once", async () => {
    const page = await runOnce([{ id: 'open', type: 'browser', config: { url: `${allowed.url}/page`, actions: [{ action: 'waitFor', networkIdle: true }] } }]);
    expect(page.run.status).toBe('succeeded');
    const refused = page.requests.filter((r) => r.url.startsWith(loopback.url));
    expect(refused.map((r) => [r.resource_type, r.status])).toEqual(expect.arrayContaining([['image', 0], ['fetch', 0]]));
    expect(refused[0].error).toMatch(/loopback/);
    expect(loopback.requests).toHaveLength(0);

    const direct = await runOnce([{ id: 'open', type: 'browser', config: { url: `${loopback.url}/secret` }, retry }]);
    expect(direct.run.status).toBe('failed');
    expect(direct.actions.open.error).toMatch(/refused.*loopback/);
    expect(direct.actions.open.attempts).toBe(1);
    expect(loopback.requests).toHaveLength(0);
  });

  it('when a step calls a loopback URL, then it fails at once, without retry, naming the address, and nothing reaches the server', async () => {
    const { run, actions, requests } = await runOnce([{ id: 'call', type: 'http', config: { url: `${loopback.url}/secret` }, retry }]);
    expect(run.status).toBe('failed');
    expect(actions.call.attempts).toBe(1);
    expect(actions.call.error).toContain('egress to 127.0.0.1 is not allowed: loopback; allow it with FLOWRUNS_EGRESS_ALLOW');
    expect(requests).toEqual([expect.objectContaining({ status: 0, url: `${loopback.url}/secret`, error: expect.stringContaining('egress to 127.0.0.1') })]);
    expect(loopback.requests).toHaveLength(0);
  });

  it('when a step calls a host name resolving to loopback (localhost), then it is refused naming the host and the address', async () => {
    const url = `${loopback.url.replace('127.0.0.1', 'localhost')}/secret`;
    const { run, actions } = await runOnce([{ id: 'call', type: 'http', config: { url }, retry }]);
    expect(run.status).toBe('failed');
    expect(actions.call.attempts).toBe(1);
    expect(actions.call.error).toMatch(/egress to (127\.0\.0\.1|::1)(, (127\.0\.0\.1|::1))? \(localhost\) is not allowed: loopback/);
    expect(loopback.requests).toHaveLength(0);
  });

  it('when an allowed server redirects to loopback, then the hop is refused naming the address, and only the allowed server was reached', async () => {
    const { run, actions, requests } = await runOnce([{ id: 'call', type: 'http', config: { url: `${allowed.url}/to-loopback` }, retry }]);
    expect(run.status).toBe('failed');
    expect(actions.call.attempts).toBe(1);
    expect(actions.call.error).toContain(`redirect 1 to GET ${loopback.url}/secret`);
    expect(actions.call.error).toContain('egress to 127.0.0.1 is not allowed: loopback');
    expect(requests).toEqual([expect.objectContaining({ status: 0, url: `${loopback.url}/secret` })]);
    expect(allowed.hits).toEqual(['/to-loopback']);
    expect(loopback.requests).toHaveLength(0);
  });

  it('when an allowed server redirects to a host name resolving to loopback, then that hop is refused too', async () => {
    const { run, actions } = await runOnce([{ id: 'call', type: 'http', config: { url: `${allowed.url}/to-localhost` } }]);
    expect(run.status).toBe('failed');
    expect(actions.call.error).toMatch(/\(localhost\) is not allowed: loopback/);
    expect(loopback.requests).toHaveLength(0);
  });

  it('when a step calls the allowed server, through redirects, then it works end to end and the last hop is recorded', async () => {
    const { run, actions, requests } = await runOnce([
      { id: 'direct', type: 'http', config: { url: `${allowed.url}/ok` } },
      { id: 'hops', type: 'http', config: { url: `${allowed.url}/hop/3` } },
    ]);
    expect(run.status).toBe('succeeded');
    expect(actions.direct.output).toMatchObject({ status: 200, body: { hello: 'world' } });
    expect(actions.hops.output).toMatchObject({ status: 200, body: { arrived: true } });
    expect(allowed.hits).toEqual(['/ok', '/hop/3', '/hop/2', '/hop/1', '/hop/0']);
    expect(requests).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ step_id: 'direct', status: 200, url: `${allowed.url}/ok` }),
        expect.objectContaining({ step_id: 'hops', status: 200, url: `${allowed.url}/hop/0` }),
      ]),
    );
  });

  it(`when a server redirects more than ${MAX_REDIRECTS} times, then the step fails without retry`, async () => {
    const { run, actions } = await runOnce([{ id: 'call', type: 'http', config: { url: `${allowed.url}/hop/${MAX_REDIRECTS + 1}` }, retry }]);
    expect(run.status).toBe('failed');
    expect(actions.call.attempts).toBe(1);
    expect(actions.call.error).toContain(`redirected more than ${MAX_REDIRECTS} times`);
    expect(allowed.hits).toHaveLength(MAX_REDIRECTS + 1);
  });

  it('when a response body is 50 MB, then the step fails cleanly on the cap, without retry, and the request is aborted and recorded', async () => {
    const { run, actions, requests } = await runOnce([{ id: 'big', type: 'http', config: { url: `${allowed.url}/big` }, retry }]);
    expect(run.status).toBe('failed');
    expect(actions.big.attempts).toBe(1);
    expect(actions.big.error).toContain('response body exceeds 5242880 bytes');
    expect(requests).toEqual([expect.objectContaining({ status: 200, error: 'response body exceeds 5242880 bytes' })]);
    expect(requests[0].response_size).toBeLessThanOrEqual(5242880);
    for (let i = 0; i < 50 && !allowed.aborted(); i++) await new Promise((r) => setTimeout(r, 100));
    expect(allowed.aborted()).toBe(true);
  });
});
