/**
 * The forward proxy every browser the platform starts must use (`--proxy-server`, loopback
 * included): each connection a browser opens — a navigation and every redirect hop, subresources,
 * fetch/XHR, WebSockets, beacons, workers, Lighthouse's own browser — is opened by this proxy, to
 * an address the egress policy allows, resolved here and connected by address (the same check as
 * http steps, activities/egress.ts). The browser never resolves or connects anything itself.
 *
 * A refused connection never reaches the network: a CONNECT tunnel is answered 403, a plain
 * request's connection is closed unanswered, and the refusal is kept (host, port, reason) for the
 * attempt's records. What the upstream side sends is counted; past `maxBytes` every connection of
 * the proxy is cut. One proxy serves one browser attempt, on 127.0.0.1 and a free port.
 */
import http from 'node:http';
import net from 'node:net';
import { allowedAddresses, EgressDeniedError, type EgressPolicy, type Resolver } from '../egress';

export interface Refusal {
  host: string;
  port: number;
  reason: string;
}

export interface EgressProxy {
  /** `http://127.0.0.1:PORT`: the browser's `--proxy-server`. */
  readonly url: string;
  /** The connections refused so far, oldest first (at most MAX_REFUSALS). */
  readonly refusals: readonly Refusal[];
  /** Why the proxy stopped serving, once it has (the byte cap). */
  readonly stopped: string | null;
  /** The refusal of `url`'s host and port, if there was one. */
  refusalOf(url: string): Refusal | undefined;
  close(): Promise<void>;
}

export interface EgressProxyOptions {
  policy: EgressPolicy;
  resolve?: Resolver;
  /** Bytes all upstream connections together may send before the proxy cuts them. */
  maxBytes: number;
  /** How long opening one upstream connection may take. */
  connectTimeoutMs?: number;
}

const MAX_REFUSALS = 200;
/** Request headers meant for the proxy, or for one hop only. */
const HOP_HEADERS = new Set(['proxy-connection', 'proxy-authorization', 'connection', 'keep-alive', 'te', 'trailer', 'upgrade']);

/** `host:port` of a CONNECT request; IPv6 in brackets. */
function authority(target: string | undefined): { host: string; port: number } | null {
  const m = /^(\[[0-9a-fA-F:.%]+\]|[^:[\]/\s]+):(\d{1,5})$/.exec(target ?? '');
  if (!m) return null;
  const port = Number(m[2]);
  return port > 0 && port < 65536 ? { host: m[1].replace(/^\[|\]$/g, ''), port } : null;
}

const keyOf = (host: string, port: number) => `${host.toLowerCase().replace(/^\[|\]$/g, '')}:${port}`;

export async function startEgressProxy(opts: EgressProxyOptions): Promise<EgressProxy> {
  const { policy, resolve, maxBytes, connectTimeoutMs = 15_000 } = opts;
  const refusals: Refusal[] = [];
  const byTarget = new Map<string, Refusal>();
  const sockets = new Set<net.Socket>();
  let received = 0;
  let stopped: string | null = null;

  const track = (socket: net.Socket): net.Socket => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    return socket;
  };
  const cutAll = (why: string) => {
    stopped ??= why;
    for (const s of sockets) s.destroy();
  };
  const refuse = (host: string, port: number, reason: string) => {
    const r = { host, port, reason };
    byTarget.set(keyOf(host, port), r);
    if (refusals.length < MAX_REFUSALS) refusals.push(r);
  };

  /** A socket to `host:port` through the policy; every allowed address in turn. */
  async function open(host: string, port: number): Promise<net.Socket> {
    if (stopped) throw new Error(stopped);
    const addresses = await allowedAddresses(host, policy, resolve);
    let last: Error | undefined;
    for (const address of addresses) {
      try {
        const socket = await new Promise<net.Socket>((ok, fail) => {
          const s = net.connect({ host: address, port, timeout: connectTimeoutMs });
          s.once('connect', () => {
            s.setTimeout(0);
            ok(s);
          });
          s.once('timeout', () => s.destroy(new Error(`connecting to ${address}:${port} timed out`)));
          s.once('error', fail);
        });
        socket.on('data', (chunk: Buffer) => {
          received += chunk.byteLength;
          if (received > maxBytes) cutAll(`the page received more than ${maxBytes} bytes`);
        });
        return track(socket);
      } catch (err) {
        last = err as Error;
      }
    }
    throw last ?? new Error(`no address of ${host}`);
  }

  const failed = (host: string, port: number, err: unknown): void => {
    refuse(host, port, err instanceof EgressDeniedError ? err.message : (err as Error).message);
  };

  const server = http.createServer((req, res) => {
    track(req.socket);
    let url: URL;
    try {
      url = new URL(req.url ?? '');
    } catch {
      res.writeHead(400).end('a proxy request needs an absolute http URL');
      return;
    }
    if (url.protocol !== 'http:') {
      res.writeHead(400).end('only http URLs are proxied as requests; https goes through CONNECT');
      return;
    }
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(url.port || 80);
    open(host, port).then(
      (socket) => {
        const headers: http.OutgoingHttpHeaders = {};
        for (const [k, v] of Object.entries(req.headers)) if (!HOP_HEADERS.has(k) && v !== undefined) headers[k] = v;
        headers.connection = 'close';
        const upstream = http.request({ createConnection: () => socket, method: req.method, path: `${url.pathname}${url.search}`, headers, setHost: false });
        upstream.on('response', (answer) => {
          const out: Record<string, string | string[]> = {};
          for (const [k, v] of Object.entries(answer.headers)) if (!HOP_HEADERS.has(k) && v !== undefined) out[k] = v;
          res.writeHead(answer.statusCode ?? 502, answer.statusMessage, out);
          answer.pipe(res);
          answer.on('error', () => res.destroy());
        });
        upstream.on('error', () => res.destroy());
        req.pipe(upstream);
      },
      (err) => {
        failed(host, port, err);
        // Closed unanswered: the browser records a failed request, never a page of the proxy's.
        req.socket.destroy();
      },
    );
  });

  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    track(client);
    const target = authority(req.url);
    if (!target) {
      client.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    open(target.host, target.port).then(
      (upstream) => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (head.length > 0) upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
        const end = () => {
          upstream.destroy();
          client.destroy();
        };
        upstream.once('error', end).once('close', end);
        client.once('error', end).once('close', end);
      },
      (err) => {
        failed(target.host, target.port, err);
        client.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n');
      },
    );
  });

  // An upgrade sent as a plain proxy request (browsers tunnel WebSockets through CONNECT): refused.
  server.on('upgrade', (_req: http.IncomingMessage, socket: net.Socket) => {
    socket.end('HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n');
  });
  server.on('clientError', (_err, socket: net.Socket) => socket.destroy());

  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  const { port } = server.address() as net.AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    refusals,
    get stopped() {
      return stopped;
    },
    refusalOf(target) {
      try {
        const u = new URL(target);
        const p = Number(u.port || (u.protocol === 'https:' || u.protocol === 'wss:' ? 443 : 80));
        return byTarget.get(keyOf(u.hostname, p));
      } catch {
        return undefined;
      }
    },
    async close() {
      cutAll('closed');
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}
