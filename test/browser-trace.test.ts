/**
 * Playwright traces of browser steps against the real stack and a real headless Chromium: a
 * failing step's `trace.zip` is linked from the run detail (`trace_url`), served with the run's
 * own authorisation as an inert download, opens as a Playwright trace (Playwright's own
 * `trace open` / `trace actions` read it) and holds no secret the step typed and posted — in
 * the actions, the DOM snapshots, the network log, the request bodies or the screencast.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { unzipSync } from 'fflate';
import { runDetailWhenEnded, withStack, type Loose } from './harness';

const run = promisify(execFile);
/** Typed into a text field and a password field, and posted: every encoding of it is searched for. */
const SECRET = 'Hunter2 "s3cr3t" & <b>';
const FORMS = [SECRET, JSON.stringify(SECRET).slice(1, -1), encodeURIComponent(SECRET), new URLSearchParams({ v: SECRET }).toString().slice(2), 'Hunter2'];

const html = (body: string, title: string) => ({
  headers: { 'content-type': 'text/html; charset=utf-8' },
  body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body>${body}</body></html>`,
});

let appId: string;
let runId: string;
let traceUrl: string;

const stack = withStack({
  workers: true,
  stub: (req) => {
    if (req.url.startsWith('/login')) return html(`<form action="/home" method="post"><input id="user" name="user"><input id="pass" name="pass" type="password"><button type="submit">Sign in</button></form>`, 'Sign in');
    if (req.url.startsWith('/home')) return html(`<h1 class="welcome">Hello</h1>`, 'Home');
    return { status: 404, body: 'not found' };
  },
  account: true,
});

beforeAll(async () => {
  const app = await stack.call('POST', '/api/v1/apps', { name: 'shop', platform: 'web', baseUrl: stack.stub.url, variables: { PASSWORD: SECRET }, secrets: ['PASSWORD'] }, stack.key);
  appId = app.body.id;
  const flow = {
    id: 'traced-login',
    name: 'traced login',
    steps: [
      {
        id: 'login',
        type: 'browser',
        retry: { maxAttempts: 1 },
        config: {
          url: `${stack.stub.url}/login`,
          timeoutMs: 3000,
          actions: [
            { action: 'fill', selector: '#user', value: '${env:PASSWORD}' },
            { action: 'fill', selector: '#pass', value: '${env:PASSWORD}' },
            { action: 'click', selector: 'button[type=submit]' },
            { action: 'waitFor', selector: '.welcome' },
            { action: 'expect', selector: '.welcome', text: 'Goodbye' },
          ],
        },
      },
    ],
  };
  expect((await stack.call('POST', '/api/v1/flows', flow, stack.key)).status).toBe(201);
  const t = await stack.call('POST', '/api/v1/flows/run', { app_id: appId, flow_ids: ['traced-login'] }, stack.key);
  expect(t.status).toBe(200);
  runId = t.body.runs[0].id;
});

it('when a browser step fails, then its entry in the run detail links its trace.zip under the step artifacts', async () => {
  const detail = await runDetailWhenEnded(stack, runId, stack.key, 120_000);
  expect(detail.status).toBe('failed');
  const step = detail.actions.find((a: Loose) => a.step_id === 'login' && a.type === 'browser');
  expect(detail.error).toEqual({ step: 'login', message: expect.stringContaining('Goodbye') });
  expect(step.trace_url).toMatch(new RegExp(`/api/v1/runs/${runId}/artifacts/screenshots/login/trace\\.zip$`));
  traceUrl = new URL(step.trace_url).pathname;
  // Action entries carry no trace of their own.
  expect(detail.actions.filter((a: Loose) => a.trace_url !== undefined)).toHaveLength(1);
}, 150_000);

it("when the trace is fetched, then it needs the run's own authorisation and comes as an inert download", async () => {
  expect((await stack.call('GET', traceUrl, undefined, null)).status).toBe(401);
  const stranger = await stack.newAccount();
  expect((await stack.call('GET', traceUrl, undefined, stranger.apiKey)).status).toBe(404);
  const res = await fetch(`${stack.baseUrl}${traceUrl}`, { headers: { 'x-api-key': stack.key } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/zip');
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="?trace\.zip"?$/);
});

it('when the trace is unzipped, then it has the actions, network and snapshots of the attempt and no form of the secret anywhere', async () => {
  const res = await fetch(`${stack.baseUrl}${traceUrl}`, { headers: { 'x-api-key': stack.key } });
  const files = unzipSync(new Uint8Array(await res.arrayBuffer()));
  const names = Object.keys(files);
  expect(names).toEqual(expect.arrayContaining(['trace.trace', 'trace.network']));
  expect(names.some((n) => n.startsWith('resources/'))).toBe(true);
  // Frames of the page before the secret was typed are kept; none after.
  expect(names.some((n) => /^screencast\/.*\.jpeg$/.test(n))).toBe(true);

  const events = Buffer.from(files['trace.trace']!).toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const fills = events.filter((e) => e.type === 'before' && e.method === 'fill');
  expect(fills.map((e) => e.params)).toEqual([expect.objectContaining({ value: '***' }), expect.objectContaining({ value: '***' })]);
  expect(events.some((e) => e.type === 'frame-snapshot')).toBe(true);
  const network = Buffer.from(files['trace.network']!).toString('utf8');
  expect(network).toContain('/home');

  for (const [name, data] of Object.entries(files)) {
    const text = Buffer.from(data).toString('latin1');
    for (const form of FORMS) expect({ name, found: text.includes(form) }).toEqual({ name, found: false });
  }
});

it("when Playwright opens the trace, then it lists the attempt: the page load, the two fills masked, the click and the expectation's reads", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trace-open-'));
  try {
    const res = await fetch(`${stack.baseUrl}${traceUrl}`, { headers: { 'x-api-key': stack.key } });
    fs.writeFileSync(path.join(dir, 'trace.zip'), Buffer.from(await res.arrayBuffer()));
    const cli = path.join(path.dirname(require.resolve('playwright-core/package.json')), 'cli.js');
    const opened = await run(process.execPath, [cli, 'trace', 'open', 'trace.zip'], { cwd: dir });
    expect(opened.stdout).toMatch(/Browser:\s+chromium/);
    const { stdout } = await run(process.execPath, [cli, 'trace', 'actions'], { cwd: dir });
    expect(stdout).toMatch(/Navigate/);
    expect(stdout.match(/Fill "\*\*\*"/g)).toHaveLength(2);
    // The expectation polls the text it wants (actions.ts), which the trace shows as the reads it made.
    expect(stdout).toMatch(/Click[\s\S]*Wait for selector[\s\S]*Get inner text/);
    expect(stdout).not.toContain('Hunter2');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
