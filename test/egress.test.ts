/**
 * Egress policy for http steps: what a step may reach, checked on the address actually connected
 * and on every redirect hop, and response bodies capped.
 *
 * No test here sends a packet to any address but loopback, even if the guard has a bug: link-local,
 * private and public addresses are checked on the policy function itself, and through the
 * resolver hook with a socket opener that connects to loopback only and refuses anything else.
 * The end-to-end tests run workers that allow one loopback address (127.0.0.2, where a stub
 * listens) and deny the rest of loopback (127.0.0.1, where another stub listens).
 */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { buildConnector } from 'undici';
import {
  createEgressFetch,
  createEgressPolicy,
  deniedRange,
  describeEgress,
  EgressDeniedError,
  LOOPBACK_ALLOW,
  parseEgressAllow,
  type Resolver,
  type SocketOpener,
} from '../activities/egress';
import { loadConfig } from '../apps/config';
import { EGRESS_DENIED, MAX_REDIRECTS, RESPONSE_TOO_LARGE } from '../steps/http';
import { startStack, startWorkers, type RunningWorkers, type Stack } from './harness';
import { startStub, type Stub } from './stub-server';

const LOOPBACK = /^(127\.|::1$|::ffff:127\.|::ffff:7f)/;

/** A socket opener that connects to loopback only, and records every address it was asked for. */
function loopbackOnlyOpener(): { open: SocketOpener; asked: string[] } {
  const asked: string[] = [];
  const real = buildConnector({});
  const open: SocketOpener = (options, callback) => {
    asked.push(options.hostname);
    if (!LOOPBACK.test(options.hostname)) {
      callback(new Error(`test opener: refused to connect to ${options.hostname}`), null);
      return;
    }
    real(options, callback);
  };
  return { open, asked };
}

/** A resolver answering `addresses` for any name, counting its calls. */
function answering(...addresses: string[]): Resolver & { calls: string[] } {
  const calls: string[] = [];
  const resolve = async (hostname: string) => {
    calls.push(hostname);
    return addresses.map((address) => ({ address, family: net.isIP(address) }));
  };
  return Object.assign(resolve, { calls });
}

describe('the egress policy', () => {
  const closed = createEgressPolicy();

  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['10.0.0.1', 'private'],
    ['172.16.5.4', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['fd00::1', 'private'],
    ['fc00::1', 'private'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:192.168.1.1', 'private'],
    ['::ffff:0.0.0.0', 'unspecified'],
    ['64:ff9b::169.254.169.254', 'link-local'],
    ['2002:a9fe:a9fe::1', 'link-local'],
    ['::127.0.0.1', 'loopback'],
    // IPv4-translated (RFC 2765), NAT64 and Teredo carry an IPv4 address: classified as it is.
    ['::ffff:0:127.0.0.1', 'loopback'],
    ['::ffff:0:a9fe:a9fe', 'link-local'],
    ['::ffff:0:10.1.2.3', 'private'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['64:ff9b::10.0.0.1', 'private'],
    // Teredo: server 65.54.227.120 (public), client 127.0.0.1 stored inverted (80ff:fffe).
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'loopback'],
    // Teredo whose server is the private one.
    ['2001:0:a00:1:8000:63bf:3fff:fdd2', 'private'],
  ])('when the address is %s, then it is refused by default as %s', (address, reason) => {
    expect(deniedRange(address)).toBe(reason);
    expect(closed.check(address)).toEqual({ allowed: false, address, reason });
  });

  it.each(['93.184.216.34', '8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:2800:220:1:248:1893:25c8:1946', '::ffff:93.184.216.34', '64:ff9b::808:808', '::ffff:0:8.8.8.8', '2001:0:4136:e378:8000:63bf:3fff:fdd2'])(
    'when the address is public (%s), then it is allowed',
    (address) => {
      expect(deniedRange(address)).toBeNull();
      expect(closed.check(address)).toEqual({ allowed: true, address });
    },
  );

  it('when FLOWRUNS_EGRESS_ALLOW opens loopback, then IPv4 and IPv6 loopback and their mapped forms are allowed, and nothing else', () => {
    const policy = createEgressPolicy(LOOPBACK_ALLOW);
    for (const a of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1']) expect(policy.check(a).allowed).toBe(true);
    for (const a of ['169.254.169.254', '10.0.0.1', '192.168.1.1', 'fd00::1', '::ffff:10.0.0.1']) expect(policy.check(a).allowed).toBe(false);
  });

  it('when FLOWRUNS_EGRESS_ALLOW names a CIDR, an address or a host name, then exactly those are opened', () => {
    const policy = createEgressPolicy('10.1.0.0/16, 192.168.1.1, fd00::/8, internal.example.com, *.corp.example');
    expect(policy.check('10.1.2.3').allowed).toBe(true);
    expect(policy.check('10.2.0.1').allowed).toBe(false);
    expect(policy.check('192.168.1.1').allowed).toBe(true);
    expect(policy.check('192.168.1.2').allowed).toBe(false);
    expect(policy.check('fd12::1').allowed).toBe(true);
    expect(policy.check('10.9.9.9', 'internal.example.com').allowed).toBe(true);
    expect(policy.check('10.9.9.9', 'INTERNAL.example.com.').allowed).toBe(true);
    expect(policy.check('10.9.9.9', 'db.corp.example').allowed).toBe(true);
    expect(policy.check('10.9.9.9', 'corp.example').allowed).toBe(false);
    expect(policy.check('10.9.9.9', 'other.example.com').allowed).toBe(false);
    // A host name opens that name, not an IP literal that happens to equal an allowed name.
    expect(policy.check('127.0.0.1', '127.0.0.1').allowed).toBe(false);
  });

  it('when FLOWRUNS_EGRESS_ALLOW holds something that is no CIDR, address or host name, then the configuration is refused naming it', () => {
    expect(() => parseEgressAllow('10.0.0.0/33')).toThrow(/"10.0.0.0\/33" is not a CIDR/);
    expect(() => parseEgressAllow('http://x')).toThrow(/"http:\/\/x"/);
    expect(() => loadConfig({ FLOWRUNS_EGRESS_ALLOW: '127.0.0.0/8,nope!' })).toThrow(/FLOWRUNS_EGRESS_ALLOW.*"nope!"/s);
    expect(loadConfig({}).egressAllow).toEqual([]);
    expect(loadConfig({}).httpMaxBodyBytes).toBe(5 * 1024 * 1024);
    expect(loadConfig({ FLOWRUNS_EGRESS_ALLOW: '127.0.0.0/8,::1', FLOWRUNS_HTTP_MAX_BODY_BYTES: '2048' })).toMatchObject({
      egressAllow: ['127.0.0.0/8', '::1'],
      httpMaxBodyBytes: 2048,
    });
  });

  it('when a process starts, then it can say in one line what is open', () => {
    expect(describeEgress(createEgressPolicy(LOOPBACK_ALLOW))).toBe('egress: http steps may reach loopback (FLOWRUNS_EGRESS_ALLOW=127.0.0.0/8,::1)');
    expect(describeEgress(createEgressPolicy())).toMatch(/public addresses only/);
  });
});

describe('the egress fetch, through the resolver hook (no packet leaves loopback)', () => {
  let stub: Stub;
  beforeAll(async () => {
    stub = await startStub();
  });
  afterAll(() => stub?.close());

  const port = () => new URL(stub.url).port;

  it.each([
    ['169.254.169.254', 'link-local'],
    ['10.0.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['fd00::1', 'private'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['127.0.0.1', 'loopback'],
  ])('when a host name resolves to %s, then the request is refused naming the host and the address, before any connection', async (address, reason) => {
    const resolve = answering(address);
    const { open, asked } = loopbackOnlyOpener();
    const fetch = createEgressFetch({ resolve, open });
    try {
      const err = await fetch(`http://metadata.test:${port()}/latest`).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(EgressDeniedError);
      expect((err as Error).name).toBe(EGRESS_DENIED);
      expect((err as Error).message).toBe(`egress to ${address} (metadata.test) is not allowed: ${reason}; allow it with FLOWRUNS_EGRESS_ALLOW`);
      expect(resolve.calls).toEqual(['metadata.test']);
      expect(asked).toEqual([]);
      expect(stub.requests).toHaveLength(0);
    } finally {
      await fetch.close();
    }
  });

  it.each(['http://169.254.169.254/latest/meta-data/', 'http://10.0.0.1/', 'http://[fd00::1]/', 'http://[::ffff:127.0.0.1]/', 'http://2130706433/', 'http://0/'])(
    'when the URL host is an IP literal (%s), then it is checked without the resolver and refused before any connection',
    async (url) => {
      const resolve = answering('93.184.216.34');
      const { open, asked } = loopbackOnlyOpener();
      const fetch = createEgressFetch({ resolve, open });
      try {
        await expect(fetch(url)).rejects.toMatchObject({ name: EGRESS_DENIED, message: expect.stringMatching(/^egress to \S+ is not allowed: /) });
        expect(resolve.calls).toEqual([]);
        expect(asked).toEqual([]);
      } finally {
        await fetch.close();
      }
    },
  );

  it('when a host name resolves to a public address, then the policy lets it through to the socket opener (here one that connects nowhere)', async () => {
    const resolve = answering('93.184.216.34');
    const { open, asked } = loopbackOnlyOpener();
    const fetch = createEgressFetch({ resolve, open });
    try {
      const err = await fetch('http://example.test/').then(
        () => undefined,
        (e: unknown) => e as Error & { cause?: Error },
      );
      expect(err?.name).not.toBe(EGRESS_DENIED);
      expect(err?.cause?.message).toBe('test opener: refused to connect to 93.184.216.34');
      expect(asked).toEqual(['93.184.216.34']);
    } finally {
      await fetch.close();
    }
  });

  it('when a host name resolves to a denied and an allowed address, then only the allowed one is connected', async () => {
    const resolve = answering('10.0.0.1', '169.254.169.254', '127.0.0.1');
    const { open, asked } = loopbackOnlyOpener();
    const fetch = createEgressFetch({ policy: createEgressPolicy('127.0.0.1/32'), resolve, open });
    try {
      const res = await fetch(`http://service.test:${port()}/mixed`);
      expect(res.status).toBe(200);
      await res.text();
      expect(asked).toEqual(['127.0.0.1']);
      expect(stub.requests.at(-1)).toMatchObject({ url: '/mixed', headers: { host: `service.test:${port()}` } });
    } finally {
      await fetch.close();
    }
  });

  it('when the host name itself is allowed, then it may connect to whatever private address it resolves to', async () => {
    const resolve = answering('127.0.0.1');
    const { open, asked } = loopbackOnlyOpener();
    const fetch = createEgressFetch({ policy: createEgressPolicy('internal.test'), resolve, open });
    try {
      const res = await fetch(`http://internal.test:${port()}/by-name`);
      expect(res.status).toBe(200);
      await res.text();
      expect(asked).toEqual(['127.0.0.1']);
    } finally {
      await fetch.close();
    }
  });

  it('when a body is larger than the cap, then reading it fails with ResponseTooLarge and the request is aborted', async () => {
    stub.setHandler(() => ({ body: 'x'.repeat(10_000) }));
    const fetch = createEgressFetch({ policy: createEgressPolicy(LOOPBACK_ALLOW), maxBodyBytes: 4096 });
    try {
      const res = await fetch(`${stub.url}/big`);
      expect(res.status).toBe(200);
      await expect(res.text()).rejects.toMatchObject({ name: RESPONSE_TOO_LARGE, message: 'response body exceeds 4096 bytes' });
      stub.setHandler(() => ({ body: 'x'.repeat(4096) }));
      const atCap = await fetch(`${stub.url}/at-cap`);
      expect(await atCap.text()).toHaveLength(4096);
    } finally {
      stub.setHandler(() => ({ body: { ok: true } }));
      await fetch.close();
    }
  });
});

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
  let stack: Stack;
  let workers: RunningWorkers | undefined;
  let loopback: Stub;
  let allowed: Awaited<ReturnType<typeof startAllowedServer>>;
  let key: string;
  let appId: string;

  beforeAll(async () => {
    stack = await startStack();
    // The workers' config: no loopback but 127.0.0.2, the default 5 MiB body cap.
    workers = await startWorkers(stack, { egressAllow: parseEgressAllow('127.0.0.2/32') });
    loopback = await startStub(() => ({ body: { secret: 'internal' } }));
    allowed = await startAllowedServer(loopback.url);
    ({ apiKey: key } = await stack.newAccount());
    const app = await stack.call('POST', '/api/v1/apps', { name: 'egress', platform: 'web', baseUrl: allowed.url }, key);
    expect(app.status).toBe(201);
    appId = app.body.id;
  });

  afterAll(async () => {
    await workers?.stop();
    await allowed?.close();
    await loopback?.close();
    await stack?.stop();
  });

  let seq = 0;
  async function runOnce(steps: Record<string, unknown>[]) {
    const id = `egress-${Date.now().toString(36)}-${seq++}`;
    const flow = await stack.call('POST', '/api/v1/flows', { id, name: id, steps }, key);
    if (flow.status !== 201) throw new Error(`create flow: ${flow.status} ${JSON.stringify(flow.body)}`);
    const t = await stack.call('POST', '/api/v1/flows/run', { app_id: appId, source: 'ci', flow_ids: [id] }, key);
    expect(t.status).toBe(200);
    const deadline = Date.now() + 45_000;
    let status: any;
    for (;;) {
      status = (await stack.call('GET', `/api/v1/runs/status?batch_id=${t.body.batch_id}`, undefined, key)).body;
      if (status.is_complete) break;
      if (Date.now() > deadline) throw new Error(`batch not complete: ${JSON.stringify(status)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const run = (await stack.call('GET', `/api/v1/runs/${status.runs[0].id}`, undefined, key)).body;
    const actions = Object.fromEntries(run.actions.map((a: any) => [a.step_id, a]));
    const net = await fetch(run.artifacts.network_requests_url, { headers: { 'x-api-key': key } });
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
