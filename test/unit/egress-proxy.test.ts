/**
 * The browsers' egress proxy without a browser: a policy that allows only 127.0.0.2 (a stand-in for
 * the public internet), an "internal" server on 127.0.0.1 that counts its connections. Also the
 * page URL rule and the sandbox decision. Loopback only.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { startEgressProxy, type EgressProxy } from '../../activities/browser/egress-proxy';
import { sandboxFlags } from '../../activities/browser/engines';
import { createEgressPolicy } from '../../activities/egress';
import { pageUrl } from '../../steps/browser';

let proxy: EgressProxy;
let internal: http.Server;
let internalConnections = 0;
let pub: http.Server;
const BIG = 'x'.repeat(64 * 1024);

const listen = (server: http.Server, host: string) => new Promise<string>((resolve) => server.listen(0, host, () => resolve(`${host}:${(server.address() as AddressInfo).port}`)));

/** One raw exchange with the proxy: what it answers to `request`. */
function exchange(request: string): Promise<string> {
  const url = new URL(proxy.url);
  return new Promise((resolve) => {
    let answer = '';
    const socket = net.connect(Number(url.port), url.hostname, () => socket.write(request));
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    socket.on('close', () => resolve(answer));
    socket.on('error', () => resolve(answer));
    setTimeout(() => socket.destroy(), 3000);
  });
}

let internalAt: string;
let pubAt: string;

beforeAll(async () => {
  internal = http.createServer((_req, res) => res.end('INTERNAL'));
  internal.on('connection', () => internalConnections++);
  internalAt = await listen(internal, '127.0.0.1');
  pub = http.createServer((req, res) => res.end(req.url === '/big' ? BIG : 'public'));
  pubAt = await listen(pub, '127.0.0.2');
  proxy = await startEgressProxy({ policy: createEgressPolicy(['127.0.0.2/32']), maxBytes: 16 * 1024 });
});

afterAll(async () => {
  await proxy?.close();
  await new Promise((r) => internal?.close(r));
  await new Promise((r) => pub?.close(r));
});

it('when a request or a tunnel asks for a refused address, then nothing reaches it and the refusal is kept with its reason', async () => {
  const plain = await exchange(`GET http://${internalAt}/x HTTP/1.1\r\nHost: ${internalAt}\r\n\r\n`);
  expect(plain).toBe(''); // closed unanswered: the browser records a failed request
  const tunnel = await exchange(`CONNECT ${internalAt} HTTP/1.1\r\nHost: ${internalAt}\r\n\r\n`);
  expect(tunnel).toMatch(/^HTTP\/1\.1 403/);
  const mapped = await exchange(`CONNECT [::ffff:127.0.0.1]:${internalAt.split(':')[1]} HTTP/1.1\r\n\r\n`);
  expect(mapped).toMatch(/^HTTP\/1\.1 403/);
  expect(internalConnections).toBe(0);
  expect(proxy.refusalOf(`http://${internalAt}/anything`)?.reason).toMatch(/not allowed: loopback/);
});

it('when a request goes to an allowed address, then it is carried there, as a request or through a tunnel', async () => {
  expect(await exchange(`GET http://${pubAt}/ HTTP/1.1\r\nHost: ${pubAt}\r\nConnection: close\r\n\r\n`)).toMatch(/^HTTP\/1\.1 200[\s\S]*public$/);
  const tunnelled = await exchange(`CONNECT ${pubAt} HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\nHost: ${pubAt}\r\nConnection: close\r\n\r\n`);
  expect(tunnelled).toMatch(/^HTTP\/1\.1 200 Connection Established[\s\S]*HTTP\/1\.1 200[\s\S]*public$/);
});

it('when a target is not a host and port, or a request is not an absolute http URL, then it is refused as bad', async () => {
  expect(await exchange('CONNECT nonsense HTTP/1.1\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
  // Connection: close, so the answer ends the exchange rather than the client's 3 s limit on a kept-alive socket.
  expect(await exchange('GET /relative HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
  expect(await exchange(`GET ftp://${pubAt}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)).toMatch(/^HTTP\/1\.1 400/);
});

it('when the page receives more than its byte cap, then the proxy cuts every connection and serves no more', async () => {
  const answer = await exchange(`GET http://${pubAt}/big HTTP/1.1\r\nHost: ${pubAt}\r\nConnection: close\r\n\r\n`);
  expect(answer.length).toBeLessThan(BIG.length);
  expect(proxy.stopped).toMatch(/more than 16384 bytes/);
  expect(await exchange(`CONNECT ${pubAt} HTTP/1.1\r\n\r\n`)).toMatch(/^HTTP\/1\.1 403/);
});

it.each(['http://example.com/', 'https://example.com/x', '${env:BASE}/login', '{{ vars.url }}', 'HTTPS://EXAMPLE.COM'])('when a page URL is %s, then it may be saved', (url) => {
  expect(pageUrl.safeParse(url).success).toBe(true);
});

it.each(['file:///etc/passwd', 'view-source:http://x/', 'chrome://version', 'javascript:alert(1)', 'data:text/html,x', 'file:${env:P}', ' about:blank'])(
  'when a page URL is %s, then saving it is refused',
  (url) => {
    const r = pageUrl.safeParse(url);
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toBe('must be an http or https URL');
  },
);

it('when the worker is root or the sandbox is turned off, then Chromium runs without it; otherwise with it', () => {
  expect(sandboxFlags(false, 0)).toEqual(['--no-sandbox']);
  expect(sandboxFlags(true, 1000)).toEqual(['--no-sandbox']);
  expect(sandboxFlags(false, 1000)).toEqual([]);
});
