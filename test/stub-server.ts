/** A real local HTTP server standing in for the endpoints that flows call; tests assert on what reached it. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON when the body is JSON, else the raw text ('' when empty). */
  body: unknown;
}

export interface StubResponse {
  status?: number;
  headers?: Record<string, string>;
  /** Sent as JSON unless it is a string. */
  body?: unknown;
  /** Holds the answer back, e.g. to exercise timeouts. */
  delayMs?: number;
}

export type StubHandler = (req: RecordedRequest) => StubResponse | Promise<StubResponse>;

export interface Stub {
  url: string;
  requests: RecordedRequest[];
  /** Requests whose client went away before the answer was sent, with when. */
  aborted: { url: string; at: number }[];
  setHandler(handler: StubHandler): void;
  close(): Promise<void>;
}

const defaultHandler: StubHandler = () => ({ status: 200, body: { ok: true } });

export async function startStub(handler: StubHandler = defaultHandler): Promise<Stub> {
  let current = handler;
  const requests: RecordedRequest[] = [];
  const aborted: Stub['aborted'] = [];
  const server = http.createServer((req, res) => {
    res.on('close', () => {
      if (!res.writableFinished) aborted.push({ url: req.url ?? '/', at: Date.now() });
    });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          if (text) body = JSON.parse(text);
        } catch {
          body = text;
        }
        const recorded: RecordedRequest = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body };
        requests.push(recorded);
        try {
          const out = await current(recorded);
          if (out.delayMs) await new Promise((r) => setTimeout(r, out.delayMs));
          const isText = typeof out.body === 'string';
          const payload = out.body === undefined ? '' : isText ? (out.body as string) : JSON.stringify(out.body);
          res.writeHead(out.status ?? 200, {
            'content-type': isText ? 'text/plain' : 'application/json',
            ...out.headers,
          });
          res.end(payload);
        } catch (err) {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(String(err));
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    aborted,
    setHandler: (h) => {
      current = h;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
