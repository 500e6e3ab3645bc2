/**
 * Egress policy for http steps, without the stack: the policy's decisions on every address form,
 * FLOWRUNS_EGRESS_ALLOW's parsing, and the egress fetch through the resolver hook (redirect hops,
 * the body cap). The end-to-end half, http steps run by workers under the policy, is
 * test/egress.test.ts.
 *
 * No test here sends a packet to any address but loopback, even if the guard has a bug: link-local,
 * private and public addresses are checked on the policy function itself, and through the
 * resolver hook with a socket opener that connects to loopback only and refuses anything else.
 */
import net from 'node:net';
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
} from '../../activities/egress';
import { loadConfig } from '../../platform/config';
import { EGRESS_DENIED, RESPONSE_TOO_LARGE } from '../../steps/http';
import { startStub, type Stub } from '../stub-server';

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
    expect(describeEgress(createEgressPolicy(LOOPBACK_ALLOW))).toBe('egress: http steps, browsers and webhooks may reach loopback (FLOWRUNS_EGRESS_ALLOW=127.0.0.0/8,::1)');
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
