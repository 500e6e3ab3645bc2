/**
 * Egress policy: which addresses a step may reach over the network, and the guarded fetch that
 * enforces it (http steps now; browser steps are meant to use the same policy).
 *
 * By default nothing inside the platform's own network is reachable: loopback, link-local (cloud
 * metadata at 169.254.169.254), private ranges (RFC 1918, CGNAT, unique-local IPv6), unspecified,
 * multicast, broadcast and reserved addresses, and every IPv6 spelling of them that carries an
 * IPv4 address (IPv4-mapped, IPv4-translated, IPv4-compatible, NAT64, 6to4, Teredo). FLOWRUNS_EGRESS_ALLOW opens what an operator chooses:
 * CIDRs, single addresses and host names (`*.example.com` for a domain's subdomains).
 *
 * The check is made on the address actually connected to: a host name is resolved once (every
 * address), the addresses the policy refuses are dropped, and the socket is opened to an allowed
 * address itself — never to the name — so a DNS answer cannot change between the check and the
 * connection (DNS rebinding). IP-literal hosts are checked the same way before connecting. The
 * connector sits under undici's Agent, so every connection the fetch makes, whatever the redirect
 * mode, goes through it. Response bodies are capped: past `maxBodyBytes` the body stream errors
 * with `ResponseTooLarge` and the request is aborted.
 */
import dns from 'node:dns';
import net from 'node:net';
import { Agent, buildConnector, fetch as undiciFetch, Response as UndiciResponse } from 'undici';
import { EGRESS_DENIED, RESPONSE_TOO_LARGE } from '../steps/http';

export const EGRESS_ALLOW_ENV = 'FLOWRUNS_EGRESS_ALLOW';
/** What `npm run dev` and the tests open: the loopback ranges, IPv4 and IPv6. */
export const LOOPBACK_ALLOW: readonly string[] = ['127.0.0.0/8', '::1'];
/** 5 MiB: FLOWRUNS_HTTP_MAX_BODY_BYTES's default. */
export const DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024;

export type DeniedRange = 'loopback' | 'link-local' | 'private' | 'unspecified' | 'multicast' | 'broadcast' | 'reserved';

/** Denied by default, in the order an address is classified (broadcast before the reserved 240/4). */
const DENIED: [DeniedRange, string, number][] = [
  ['unspecified', '0.0.0.0', 8],
  ['loopback', '127.0.0.0', 8],
  ['link-local', '169.254.0.0', 16],
  ['private', '10.0.0.0', 8],
  ['private', '172.16.0.0', 12],
  ['private', '192.168.0.0', 16],
  ['private', '100.64.0.0', 10], // shared address space (CGNAT)
  ['multicast', '224.0.0.0', 4],
  ['broadcast', '255.255.255.255', 32],
  ['reserved', '240.0.0.0', 4],
  ['unspecified', '::', 128],
  ['loopback', '::1', 128],
  ['link-local', 'fe80::', 10],
  ['private', 'fc00::', 7], // unique local
  ['private', 'fec0::', 10], // site-local (deprecated)
  ['private', '64:ff9b:1::', 48], // local-use NAT64
  ['multicast', 'ff00::', 8],
];

const deniedLists = DENIED.map(([range, network, prefix]) => {
  const list = new net.BlockList();
  list.addSubnet(network, prefix, net.isIPv4(network) ? 'ipv4' : 'ipv6');
  return { range, list, family: net.isIPv4(network) ? 'ipv4' : 'ipv6' };
});

const stripZone = (address: string): string => (address.includes('%') ? address.slice(0, address.indexOf('%')) : address);
const unbracket = (host: string): string => (host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host);

/** The 16 bytes of an IPv6 address (dotted-quad tail and `::` included), or null if it is not one. */
function ipv6Bytes(address: string): Uint8Array | null {
  let a = stripZone(address);
  if (!net.isIPv6(a)) return null;
  const tailAt = a.lastIndexOf(':');
  const tail = a.slice(tailAt + 1);
  if (tail.includes('.')) {
    const q = tail.split('.').map(Number);
    a = `${a.slice(0, tailAt + 1)}${((q[0] << 8) | q[1]).toString(16)}:${((q[2] << 8) | q[3]).toString(16)}`;
  }
  const [head, rest] = a.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = rest ? rest.split(':') : [];
  const groups = rest === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = Number.parseInt(g, 16);
    bytes[2 * i] = v >> 8;
    bytes[2 * i + 1] = v & 0xff;
  });
  return bytes;
}

const v4 = (b: Uint8Array, at: number): string => `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
const zeros = (b: Uint8Array, from: number, to: number): boolean => b.slice(from, to).every((x) => x === 0);

type EmbeddedForm = 'IPv4-mapped' | 'IPv4-translated' | 'IPv4-compatible' | 'NAT64' | '6to4' | 'Teredo';

/**
 * The IPv4 addresses spelled inside an IPv6 one, and how: IPv4-mapped `::ffff:a.b.c.d`,
 * IPv4-translated `::ffff:0:a.b.c.d` (RFC 2765), IPv4-compatible `::a.b.c.d`, NAT64
 * `64:ff9b::a.b.c.d`, 6to4 `2002:AABB:CCDD::`, and Teredo `2001:0::/32`, which carries two: its
 * server (bits 32–63) and its client (the last 32 bits, inverted).
 */
function embeddedIPv4(address: string): { ipv4: string[]; form: EmbeddedForm } | null {
  const b = ipv6Bytes(address);
  if (!b) return null;
  if (zeros(b, 0, 10) && b[10] === 0xff && b[11] === 0xff) return { ipv4: [v4(b, 12)], form: 'IPv4-mapped' };
  if (zeros(b, 0, 8) && b[8] === 0xff && b[9] === 0xff && zeros(b, 10, 12)) return { ipv4: [v4(b, 12)], form: 'IPv4-translated' };
  if (zeros(b, 0, 12) && !zeros(b, 12, 15)) return { ipv4: [v4(b, 12)], form: 'IPv4-compatible' };
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zeros(b, 4, 12)) return { ipv4: [v4(b, 12)], form: 'NAT64' };
  if (b[0] === 0x20 && b[1] === 0x02) return { ipv4: [v4(b, 2)], form: '6to4' };
  if (b[0] === 0x20 && b[1] === 0x01 && b[2] === 0x00 && b[3] === 0x00) {
    const client = Uint8Array.from(b.slice(12, 16), (x) => x ^ 0xff);
    return { ipv4: [v4(b, 4), v4(client, 0)], form: 'Teredo' };
  }
  return null;
}

/** The default-denied range an IP address falls in, or null for a public address. */
export function deniedRange(address: string): DeniedRange | null {
  const ip = stripZone(unbracket(address));
  const family = net.isIP(ip);
  if (family === 0) return 'reserved';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const { range, list, family: f } of deniedLists) if (f === type && list.check(ip, type)) return range;
  if (family === 6) {
    const embedded = embeddedIPv4(ip);
    if (embedded) {
      for (const carried of embedded.ipv4) {
        const inner = deniedRange(carried);
        if (inner) return inner;
      }
      // IPv4-compatible addresses are deprecated; none is a legitimate public destination.
      if (embedded.form === 'IPv4-compatible') return 'reserved';
    }
  }
  return null;
}

export type EgressVerdict = { allowed: true; address: string } | { allowed: false; address: string; reason: DeniedRange };

export interface EgressPolicy {
  /** The FLOWRUNS_EGRESS_ALLOW entries in force, normalised. */
  readonly allow: readonly string[];
  /** Whether `address` (an IP) may be connected to; `hostname`, the name it was resolved from, may be allowed by name. */
  check(address: string, hostname?: string): EgressVerdict;
}

const HOST_NAME = /^(\*\.)?([a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/;

/**
 * Parses FLOWRUNS_EGRESS_ALLOW: comma-separated CIDRs (`10.1.0.0/16`, `fd00::/8`), addresses
 * (`127.0.0.1`, `::1`, `[::1]`) and host names (`internal.example.com`, `*.corp.example`).
 * Throws naming the first entry that is none of these.
 */
export function parseEgressAllow(value: string | readonly string[] | undefined): string[] {
  const entries = (typeof value === 'string' ? value.split(',') : (value ?? [])).map((e) => e.trim()).filter((e) => e.length > 0);
  return entries.map((raw) => {
    const entry = raw.toLowerCase();
    const slash = entry.indexOf('/');
    if (slash >= 0) {
      const address = unbracket(entry.slice(0, slash));
      const bits = entry.slice(slash + 1);
      const family = net.isIP(address);
      const max = family === 4 ? 32 : 128;
      if (family === 0 || !/^\d{1,3}$/.test(bits) || Number(bits) > max) throw new Error(`${EGRESS_ALLOW_ENV}: "${raw}" is not a CIDR`);
      return `${address}/${Number(bits)}`;
    }
    const address = unbracket(entry);
    if (net.isIP(address)) return address;
    const host = entry.replace(/\.$/, '');
    if (!HOST_NAME.test(host)) throw new Error(`${EGRESS_ALLOW_ENV}: "${raw}" is neither a CIDR, an IP address nor a host name`);
    return host;
  });
}

/** The policy: everything public, plus what `allow` (FLOWRUNS_EGRESS_ALLOW's entries) opens. */
export function createEgressPolicy(allow: string | readonly string[] = []): EgressPolicy {
  const entries = parseEgressAllow(allow);
  const allowed = new net.BlockList();
  const hosts = new Set<string>();
  const domains: string[] = [];
  for (const entry of entries) {
    const [address, bits] = entry.split('/');
    const family = net.isIP(address);
    if (family !== 0) {
      const type = family === 4 ? 'ipv4' : 'ipv6';
      if (bits === undefined) allowed.addAddress(address, type);
      else allowed.addSubnet(address, Number(bits), type);
    } else if (entry.startsWith('*.')) domains.push(entry.slice(1));
    else hosts.add(entry);
  }
  const hostAllowed = (hostname: string): boolean => {
    const h = hostname.toLowerCase().replace(/\.$/, '');
    return hosts.has(h) || domains.some((d) => h.endsWith(d));
  };
  const ipAllowed = (ip: string): boolean => {
    const family = net.isIP(ip);
    if (allowed.check(ip, family === 4 ? 'ipv4' : 'ipv6')) return true;
    // An IPv4-mapped (or -translated) address is the IPv4 address: 127.0.0.0/8 opens ::ffff:127.0.0.1 too.
    const embedded = family === 6 ? embeddedIPv4(ip) : null;
    return (embedded?.form === 'IPv4-mapped' || embedded?.form === 'IPv4-translated') && allowed.check(embedded.ipv4[0], 'ipv4');
  };
  return {
    allow: entries,
    check(address, hostname) {
      const ip = stripZone(unbracket(address));
      if (net.isIP(ip) === 0) return { allowed: false, address, reason: 'reserved' };
      if (hostname !== undefined && net.isIP(unbracket(hostname)) === 0 && hostAllowed(hostname)) return { allowed: true, address };
      if (ipAllowed(ip)) return { allowed: true, address };
      const reason = deniedRange(ip);
      return reason ? { allowed: false, address, reason } : { allowed: true, address };
    },
  };
}

/** One line for a process's start: what steps (http, browsers, webhooks) may reach beyond the public internet. */
export function describeEgress(policy: EgressPolicy): string {
  const steps = 'http steps, browsers and webhooks';
  if (policy.allow.length === 0) return `egress: ${steps} may reach public addresses only (open more with ${EGRESS_ALLOW_ENV})`;
  const is = (set: readonly string[]) => policy.allow.length === set.length && set.every((e) => policy.allow.includes(e));
  if (is(['0.0.0.0/0', '::/0'])) return `egress: ${steps} may reach every address this machine can (${EGRESS_ALLOW_ENV} keeps them to public addresses and what it lists)`;
  const what = is(LOOPBACK_ALLOW) ? 'loopback' : policy.allow.join(', ');
  return `egress: ${steps} may reach ${what} (${EGRESS_ALLOW_ENV}=${policy.allow.join(',')})`;
}

/** Refusal of every address a host resolved to; its name is the step's non-retryable error type. */
export class EgressDeniedError extends Error {
  override readonly name = EGRESS_DENIED;
  readonly code = 'EGRESS_DENIED';

  constructor(
    readonly host: string,
    readonly refused: { address: string; reason: DeniedRange }[],
  ) {
    const addresses = refused.map((r) => r.address);
    const reasons = [...new Set(refused.map((r) => r.reason))];
    const named = host === addresses[0] && addresses.length === 1 ? host : `${addresses.join(', ')} (${host})`;
    super(`egress to ${named} is not allowed: ${reasons.join(', ')}; allow it with ${EGRESS_ALLOW_ENV}`);
  }
}

/** A response body past the cap. */
export class ResponseTooLargeError extends Error {
  override readonly name = RESPONSE_TOO_LARGE;

  constructor(
    readonly maxBytes: number,
    readonly bytesRead: number,
  ) {
    super(`response body exceeds ${maxBytes} bytes`);
  }
}

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Resolves a host name to every address it has; the system resolver (dns.lookup) by default. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = async (hostname) =>
  (await dns.promises.lookup(hostname, { all: true, verbatim: true })).map(({ address, family }) => ({ address, family }));

/** Opens a socket; always handed an IP address the policy allowed as `hostname` (the URL's host stays in `host`, for TLS). */
export type SocketOpener = buildConnector.connector;

/** No host name ever reaches net.connect (the connector resolves them first); should one, it is refused. */
const refuseNames: net.LookupFunction = (hostname, _options, callback) => {
  callback(Object.assign(new Error(`egress: unresolved host ${hostname} reached the socket layer`), { code: 'EGRESS_UNRESOLVED' }), '', 4);
};

/**
 * The addresses of `host` (an IP literal or a name, resolved once) that the policy allows, in the
 * resolver's order. Rejects with EgressDeniedError when it resolved but none is allowed.
 */
export async function allowedAddresses(host: string, policy: EgressPolicy, resolve: Resolver = systemResolver): Promise<string[]> {
  const name = unbracket(host);
  const found = net.isIP(stripZone(name)) ? [name] : (await resolve(name)).map((a) => a.address);
  if (found.length === 0) throw Object.assign(new Error(`${name} resolved to no address`), { code: 'ENOTFOUND' });
  const verdicts = found.map((address) => policy.check(address, name));
  const allowed = verdicts.filter((v) => v.allowed).map((v) => stripZone(v.address));
  if (allowed.length === 0) throw new EgressDeniedError(name, verdicts.flatMap((v) => (v.allowed ? [] : [{ address: v.address, reason: v.reason }])));
  return allowed;
}

/**
 * The connector under undici's Agent: resolves the host (unless it is an IP literal), keeps the
 * addresses the policy allows, and opens the socket to one of them, trying the next on a
 * connection error. Refuses with EgressDeniedError, before any connection, when none is allowed.
 */
export function egressConnector(opts: { policy: EgressPolicy; resolve?: Resolver; open?: SocketOpener }): buildConnector.connector {
  const { policy, resolve = systemResolver } = opts;
  const open = opts.open ?? buildConnector({ lookup: refuseNames });
  return (options, callback) => {
    const host = unbracket(options.hostname);
    allowedAddresses(host, policy, resolve).then(
      (allowed) => {
        const attempt = (i: number): void => {
          // Checked again at the socket: this is the address connected, whatever happened before.
          const verdict = policy.check(allowed[i], host);
          if (!verdict.allowed) {
            callback(new EgressDeniedError(host, [{ address: verdict.address, reason: verdict.reason }]), null);
            return;
          }
          open({ ...options, hostname: allowed[i] }, (err, socket) => {
            if (err && i + 1 < allowed.length && !(err instanceof EgressDeniedError)) attempt(i + 1);
            else if (err) callback(err, null);
            else callback(null, socket as NonNullable<typeof socket>);
          });
        };
        attempt(0);
      },
      (err: Error) => callback(err, null),
    );
  };
}

/** Wraps a response so that its body errors with ResponseTooLargeError, and the request is aborted, past `maxBytes`. */
function capped(res: UndiciResponse, maxBytes: number): UndiciResponse {
  if (!res.body || res.status < 200 || res.status > 599) return res;
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  // A body framed by a declared length within the cap cannot run past it (the HTTP parser reads that
  // many bytes and no more): it goes through as it is, without a second stream to pass every chunk.
  if (Number.isFinite(declared) && declared >= 0 && declared <= maxBytes) return res;
  const reader = res.body.getReader();
  let seen = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (declared > maxBytes) {
        await reader.cancel().catch(() => undefined);
        controller.error(new ResponseTooLargeError(maxBytes, 0));
        return;
      }
      const { done, value } = await reader.read();
      if (done) {
        controller.close();
        return;
      }
      if (seen + value.byteLength > maxBytes) {
        await reader.cancel().catch(() => undefined);
        controller.error(new ResponseTooLargeError(maxBytes, seen));
        return;
      }
      seen += value.byteLength;
      controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return new UndiciResponse(body as never, { status: res.status, statusText: res.statusText, headers: res.headers });
}

export interface EgressFetchOptions {
  /** The policy; nothing but public addresses by default. */
  policy?: EgressPolicy;
  /** Host name resolution (tests answer a chosen address here). */
  resolve?: Resolver;
  /** Opens the socket to an allowed address (tests replace it to keep every packet on loopback). */
  open?: SocketOpener;
  /** Response body cap in bytes. */
  maxBodyBytes?: number;
}

export type EgressFetch = typeof globalThis.fetch & {
  readonly policy: EgressPolicy;
  /** Closes the connection pool. */
  close(): Promise<void>;
};

/**
 * A fetch whose every connection goes through the egress policy and whose response bodies are
 * capped. An egress refusal rejects with EgressDeniedError itself (not fetch's "fetch failed"),
 * so a caller can tell it from a network error. Takes a string or URL, not a Request.
 */
export function createEgressFetch(opts: EgressFetchOptions = {}): EgressFetch {
  const policy = opts.policy ?? createEgressPolicy();
  const maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const agent = new Agent({ connect: egressConnector({ policy, resolve: opts.resolve, open: opts.open }) });
  const guarded = async (input: Parameters<typeof globalThis.fetch>[0], init?: RequestInit): Promise<Response> => {
    let res: UndiciResponse;
    try {
      res = await undiciFetch(input as never, { ...(init as object), dispatcher: agent } as never);
    } catch (err) {
      const cause = (err as { cause?: unknown }).cause;
      if (cause instanceof EgressDeniedError) throw cause;
      throw err;
    }
    return capped(res, maxBodyBytes) as unknown as Response;
  };
  return Object.assign(guarded, { policy, close: () => agent.close() }) as EgressFetch;
}
