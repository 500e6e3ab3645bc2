/**
 * Variables are data, end to end (SPEC §10, issue 22): a key with only the `run` scope triggers a
 * flow whose http step puts `${env:Q}` in its URL, headers and body, in an `if`, in a transform and
 * in a sub-flow's `data`, with template-shaped values. The flow's secret must reach nothing: not
 * the stub service that records every request, not the logs, not any response about the runs.
 */
import { runDetailWhenEnded, withStack, type Loose } from './harness';

const PASSWORD = 'pw-7Qx2-Zebra-Secret';
const DOTTED = PASSWORD.split('').join('.');

const SHAPES = [
  '{{ vars.PASSWORD }}',
  "{{ $join($split(vars.PASSWORD,''),'.') }}",
  '${env:PASSWORD}',
  '{{ $string(vars) }}',
  '" & vars.PASSWORD & "',
  '{{ ${env:PASSWORD} }}',
];

let runKey: string;

const stack = withStack({ workers: true, stub: true, app: 'shop' });

beforeAll(async () => {
  const created = await stack.call('POST', '/api/v1/api-keys', { name: 'ci', scopes: ['run'] }, stack.key);
  expect(created.status).toBe(201);
  runKey = created.body.apiKey;
  const variables = { U: stack.stub.url, PASSWORD };
  const child = {
    id: 'child',
    variables,
    steps: [{ id: 'echo', type: 'http', config: { method: 'POST', url: '${env:U}/child', body: { q: '{{ trigger.body.q }}', inText: 'x {{ trigger.body.q }} y' } } }],
  };
  const parent = {
    id: 'parent',
    variables,
    steps: [
      {
        id: 'call',
        type: 'http',
        config: {
          method: 'POST',
          url: '${env:U}/hit?q=${env:Q}',
          headers: { 'x-q': '${env:Q}' },
          body: { q: '${env:Q}', quoted: '{{ "<${env:Q}>" }}', upper: '{{ $uppercase(${env:Q}) }}' },
        },
      },
      { id: 'gate', type: 'http', if: '${env:Q} != "" and $length(${env:Q}) > 0', config: { url: '${env:U}/gate?q=${env:Q}' } },
      { id: 'length', type: 'transform', config: { expression: '$length(${env:Q})' } },
      { id: 'sub', type: 'flow', config: { flowId: 'child', data: { q: '${env:Q}' } } },
    ],
  };
  for (const flow of [child, parent]) expect((await stack.call('POST', '/api/v1/flows', flow, stack.key)).status).toBe(201);
});

const leaked = (text: string): string[] => {
  const decoded = (() => {
    try {
      return decodeURIComponent(text);
    } catch {
      return text;
    }
  })();
  return [PASSWORD, DOTTED].filter((s) => text.includes(s) || decoded.includes(s));
};

async function body(path: string): Promise<string> {
  const res = await stack.call('GET', path, undefined, stack.key);
  expect([path, res.status]).toEqual([path, 200]);
  return typeof res.body === 'string' ? res.body : JSON.stringify(res.body);
}

it('when a run-scope key triggers with template-shaped env values, then each is sent as text and nothing of the secret reaches the service, the logs or a response', async () => {
  const triggers = await Promise.all(
    SHAPES.map((Q) => stack.call('POST', '/api/v1/flows/run', { app_id: stack.appId, flow_ids: ['parent'], env: { Q } }, runKey)),
  );
  expect(triggers.map((t) => t.status)).toEqual(SHAPES.map(() => 200));
  const runIds: string[] = triggers.map((t) => t.body.runs[0].id);
  const details: Loose[] = [];
  for (const runId of runIds) details.push(await runDetailWhenEnded(stack, runId, stack.key, 60_000));
  expect(details.map((d) => d.status)).toEqual(SHAPES.map(() => 'succeeded'));

  for (const [i, Q] of SHAPES.entries()) {
    // Each value arrived exactly as sent, wherever the flow put it.
    const hit = stack.stub.requests.filter((r) => r.url.startsWith('/hit') && (r.body as Loose).q === Q);
    expect([Q, hit.length]).toEqual([Q, 1]);
    expect(decodeURIComponent(hit[0].url)).toBe(`/hit?q=${Q}`);
    expect(hit[0].headers['x-q']).toBe(Q);
    expect(hit[0].body).toEqual({ q: Q, quoted: `<${Q}>`, upper: Q.toUpperCase() });
    expect(stack.stub.requests.filter((r) => decodeURIComponent(r.url) === `/gate?q=${Q}`)).toHaveLength(1);
    expect(stack.stub.requests.filter((r) => r.url === '/child' && (r.body as Loose).q === Q).map((r) => r.body)).toEqual([{ q: Q, inText: `x ${Q} y` }]);
    expect(details[i].actions.find((a: Loose) => a.step_id === 'length').output).toBe(Q.length);
  }

  const everyRequest = stack.stub.requests.map((r) => `${r.url}\n${JSON.stringify(r.headers)}\n${JSON.stringify(r.body)}`).join('\n');
  expect(leaked(everyRequest)).toEqual([]);

  const childRuns: string[] = details.map((d) => d.actions.find((a: Loose) => a.step_id === 'sub').output.runId);
  const responses = await Promise.all(
    [...runIds, ...childRuns].flatMap((runId) => [
      body(`/api/v1/runs/${runId}`),
      body(`/api/v1/runs/${runId}/artifacts/log.jsonl`),
      body(`/api/v1/runs/${runId}/artifacts/network.jsonl`),
      ...(runIds.includes(runId) ? [body(`/v1/ops/flowrun/${runId}`)] : []),
    ]),
  );
  const statuses = await Promise.all(triggers.map((t) => body(`/api/v1/runs/status?batch_id=${t.body.batch_id}`)));
  expect([...responses, ...statuses, JSON.stringify(triggers.map((t) => t.body))].flatMap(leaked)).toEqual([]);
});

it('when a flow is saved with `${env:KEY}` inside an expression, then it is checked as it runs: a read of the variable', async () => {
  const ok = { id: 'env-in-expression', variables: { A: 'x' }, steps: [{ id: 't', type: 'transform', if: '${env:A} = "x"', config: { expression: '"v=${env:A}" & ${env:A}' } }] };
  expect((await stack.call('POST', '/api/v1/flows', ok, stack.key)).status).toBe(201);
  const broken = { id: 'env-broken', steps: [{ id: 't', type: 'http', config: { url: 'http://127.0.0.1/{{ ${env:A} + }}' } }] };
  const res = await stack.call('POST', '/api/v1/flows', broken, stack.key);
  expect(res.status).toBe(400);
  expect(res.body.detail[0].loc).toEqual(['body', 'steps', 0, 'config', 'url']);
});
