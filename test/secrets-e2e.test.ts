/**
 * Secrets end to end: a value declared secret reaches the service the step calls, and nothing
 * else — no API response, no artifact, no log line, and not the raw Temporal history (read with
 * the `temporal` CLI, where payloads are ciphertext). The codec endpoint opens that history for
 * the admin key only.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { withStack } from './harness';

const run = promisify(execFile);

const FLOW_SECRET = 'flow-secret-5f2a9c';
const TRIGGER_SECRET = 'trigger-secret-81d3e7';

let appId: string;

const stack = withStack({ workers: true, stub: true, account: true });

beforeAll(async () => {
  const app = await stack.call('POST', '/api/v1/apps', { name: 'shop', platform: 'web', baseUrl: stack.stub.url, variables: { APP_PIN: 'app-secret-c0ffee' }, secrets: ['APP_PIN'] }, stack.key);
  expect(app.status).toBe(201);
  appId = app.body.id;
});

const leaks = (text: string): string[] => [FLOW_SECRET, TRIGGER_SECRET, 'app-secret-c0ffee'].filter((s) => text.includes(s));

async function text(path: string, apiKey = stack.key): Promise<string> {
  const res = await stack.call('GET', path, undefined, apiKey);
  expect([path, res.status]).toEqual([path, 200]);
  return typeof res.body === 'string' ? res.body : JSON.stringify(res.body);
}

it('when secrets are declared on a flow, an app and a trigger, then their values reach the service but no response, artifact or Temporal history', async () => {
  stack.stub.setHandler((req) => (req.url.startsWith('/fail') ? { status: 400, body: { echoed: req.url } } : { body: { ok: true } }));
  const flow = await stack.call(
    'POST',
    '/api/v1/flows',
    {
      id: 'with-secrets',
      variables: { U: stack.stub.url, SIGNING: FLOW_SECRET },
      secrets: ['SIGNING'],
      configs: { endOnFail: false },
      steps: [
        { id: 'call', type: 'http', dependsOn: [], config: { url: '${env:U}/ok?sig=${env:SIGNING}&t=${env:TICKET}', headers: { 'x-pin': '${env:APP_PIN}' }, body: { sig: '${env:SIGNING}' }, method: 'POST' } },
        { id: 'echo', type: 'transform', dependsOn: [], config: { expression: 'vars.SIGNING & "/" & vars.TICKET' } },
        { id: 'fails', type: 'http', dependsOn: [], config: { url: '${env:U}/fail?t=${env:TICKET}' } },
      ],
    },
    stack.key,
  );
  expect(flow.status).toBe(201);
  expect(leaks(JSON.stringify(flow.body))).toEqual([]);

  const trigger = await stack.call('POST', '/api/v1/flows/run', { app_id: appId, flow_ids: ['with-secrets'], env: { TICKET: TRIGGER_SECRET }, secrets: ['TICKET'] }, stack.key);
  expect(trigger.status).toBe(200);
  const batchId = trigger.body.batch_id;
  let status: any;
  for (let i = 0; i < 150; i++) {
    status = (await stack.call('GET', `/api/v1/runs/status?batch_id=${batchId}`, undefined, stack.key)).body;
    if (status.is_complete) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(status.is_complete).toBe(true);
  const runId = status.runs[0].id;

  // The step really used the values.
  const call = stack.stub.requests.find((r) => r.url.startsWith('/ok'));
  expect(call?.url).toBe(`/ok?sig=${FLOW_SECRET}&t=${TRIGGER_SECRET}`);
  expect(call?.headers['x-pin']).toBe('app-secret-c0ffee');

  const detail = await stack.call('GET', `/api/v1/runs/${runId}`, undefined, stack.key);
  expect(detail.body.actions.find((a: any) => a.step_id === 'echo').output).toBe('***/***');
  expect(detail.body.actions.find((a: any) => a.step_id === 'fails').status).toBe('failed');
  expect(detail.body.variables).toMatchObject({ SIGNING: '***', TICKET: '***', APP_PIN: '***' });

  const bodies = await Promise.all([
    text(`/api/v1/runs/status?batch_id=${batchId}`),
    text(`/api/v1/runs/${runId}`),
    text(`/api/v1/runs/${runId}/artifacts/log.jsonl`),
    text(`/api/v1/runs/${runId}/artifacts/network.jsonl`),
    text(`/api/v1/runs/${runId}/artifacts/performance.json`),
    text('/api/v1/flows/with-secrets/runs'),
    text(`/api/v1/flows/with-secrets/runs/${runId}`),
    text(`/v1/ops/flowrun/${runId}`),
    text(`/api/v1/flow-runs/${runId}`),
    text('/api/v1/flows/with-secrets'),
    text(`/api/v1/apps/${appId}`),
  ]);
  expect(bodies.flatMap(leaks)).toEqual([]);

  // The raw history, as an operator's CLI reads it without the codec.
  const binary = process.env.FLOWRUNS_TEST_TEMPORAL_BINARY!;
  const history = async (workflowId: string) =>
    (await run(binary, ['workflow', 'show', '-w', workflowId, '--address', stack.config.temporalAddress, '--output', 'json'], { maxBuffer: 64 * 1024 * 1024 })).stdout;
  const raw = (await history(`batch-${batchId}`)) + (await history(`run-${runId}`));
  expect(raw).toContain(Buffer.from('binary/sealed').toString('base64'));
  expect(leaks(raw)).toEqual([]);
  expect(leaks(Buffer.from(raw).toString('latin1'))).toEqual([]);

  // The codec endpoint opens those payloads for the admin key, and for no one else.
  const started = JSON.parse(await history(`run-${runId}`)).events[0].workflowExecutionStartedEventAttributes.input;
  const decoded = await stack.call('POST', '/api/v1/codec/decode', started);
  expect(decoded.status).toBe(200);
  const input = JSON.parse(Buffer.from(decoded.body.payloads[0].data, 'base64').toString('utf8'));
  expect(input.variables.TICKET).toBe(TRIGGER_SECRET);
  const refused = await stack.call('POST', '/api/v1/codec/decode', started, stack.key);
  expect([401, 403]).toContain(refused.status);
});
