/**
 * Rerun and resume against the real stack: a rerun repeats the run's flow version, inputs and
 * variables (secrets included) as a new batch; a batch rerun takes only its failures; a resume
 * starts from the failed step, reusing the passed steps' outputs without calling their services again.
 */
import { withStack, type Loose } from './harness';

const stack = withStack({
  workers: true,
  stub: (req) => (req.url.startsWith('/bad') ? { status: 500, body: { bad: true } } : { body: { path: req.url, n: 7 } }),
  app: 'shop',
});

async function finished(runId: string): Promise<Loose> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await stack.call('GET', `/api/v1/runs/${runId}`, undefined, stack.key);
    if (['succeeded', 'failed', 'cancelled', 'timed_out'].includes(r.body.status)) return r.body;
    if (Date.now() > deadline) throw new Error(`run ${runId} did not finish: ${JSON.stringify(r.body)}`);
    await new Promise((res) => setTimeout(res, 150));
  }
}

const hits = (prefix: string) => stack.stub.requests.filter((r) => r.url.startsWith(prefix)).length;

async function trigger(flowIds: string[], env: Record<string, string> = {}): Promise<Loose> {
  const t = await stack.call('POST', '/api/v1/flows/run', { app_id: stack.appId, flow_ids: flowIds, env, max_parallel: flowIds.length }, stack.key);
  expect(t.status).toBe(200);
  return t.body;
}

it('when a run is rerun after its flow changed, then the new run has the old flow version, inputs and secret variables, and its lineage', async () => {
  const def = (path: string) => ({
    id: 'rerun-me',
    name: 'rerun me',
    variables: { TOKEN: 'secret-token-42' },
    secrets: ['TOKEN'],
    steps: [{ id: 'call', type: 'http', config: { url: `${stack.stub.url}${path}?t=\${env:TOKEN}&who=\${env:WHO}` } }],
  });
  expect((await stack.call('POST', '/api/v1/flows', def('/v1'), stack.key)).status).toBe(201);
  const first = (await trigger(['rerun-me'], { WHO: 'ci' })).runs[0].id;
  expect((await finished(first)).status).toBe('succeeded');
  expect((await stack.call('PUT', '/api/v1/flows/rerun-me', def('/v2'), stack.key)).status).toBe(200);

  const res = await stack.call('POST', `/api/v1/runs/${first}/rerun`, undefined, stack.key);
  expect(res.status).toBe(202);
  expect(res.body).toEqual({ batch_id: expect.any(String), runs: [{ id: expect.any(String), rerun_of: first }] });
  const again = await finished(res.body.runs[0].id);
  expect(again).toMatchObject({ status: 'succeeded', source: 'rerun', rerun_of: first, flow_version: 1, batch_id: res.body.batch_id });
  expect(again.variables).toMatchObject({ TOKEN: '***', WHO: 'ci' });
  expect(stack.stub.requests.filter((r) => r.url.startsWith('/v1')).map((r) => r.url)).toEqual(['/v1?t=secret-token-42&who=ci', '/v1?t=secret-token-42&who=ci']);
  expect(hits('/v2')).toBe(0);
});

it('when a batch is rerun with only failed, then only its failed runs are repeated, as a new batch', async () => {
  await stack.call('POST', '/api/v1/flows', { id: 'passes', name: 'passes', steps: [{ id: 'ok', type: 'transform', config: { expression: '1' } }] }, stack.key);
  await stack.call('POST', '/api/v1/flows', { id: 'fails', name: 'fails', steps: [{ id: 'call', type: 'http', config: { url: `${stack.stub.url}/bad` }, retry: { maxAttempts: 1 } }] }, stack.key);
  const batch = await trigger(['passes', 'fails']);
  const [passes, fails] = batch.runs.map((r: Loose) => r.id);
  expect((await finished(passes)).status).toBe('succeeded');
  expect((await finished(fails)).status).toBe('failed');

  const res = await stack.call('POST', `/api/v1/batches/${batch.batch_id}/rerun`, { only: 'failed' }, stack.key);
  expect(res.status).toBe(202);
  expect(res.body.runs).toEqual([{ id: expect.any(String), rerun_of: fails }]);
  expect(res.body.batch_id).not.toBe(batch.batch_id);
  expect((await finished(res.body.runs[0].id)).status).toBe('failed');

  const all = await stack.call('POST', `/api/v1/batches/${batch.batch_id}/rerun`, { only: 'all' }, stack.key);
  expect(all.body.runs.map((r: Loose) => r.rerun_of)).toEqual([passes, fails]);
  const other = await stack.newAccount();
  expect((await stack.call('POST', `/api/v1/batches/${batch.batch_id}/rerun`, {}, other.apiKey)).status).toBe(404);
  expect((await stack.call('POST', `/api/v1/runs/${fails}/rerun`, undefined, other.apiKey)).status).toBe(404);
});

it('when a failed run is resumed with a fixed variable, then passed steps are reused, not called again, and the run succeeds from the failed step', async () => {
  const flow = {
    id: 'resumable',
    name: 'resumable',
    variables: { TARGET: 'bad' },
    steps: [
      { id: 'fetch', type: 'http', config: { url: `${stack.stub.url}/data` } },
      { id: 'push', type: 'http', config: { url: `${stack.stub.url}/\${env:TARGET}`, method: 'POST', body: { n: '{{steps.fetch.output.body.n}}' } }, retry: { maxAttempts: 1 } },
      { id: 'report', type: 'transform', config: { expression: 'steps.fetch.output.body.n * 6' } },
    ],
  };
  expect((await stack.call('POST', '/api/v1/flows', flow, stack.key)).status).toBe(201);
  const runId = (await trigger(['resumable'])).runs[0].id;
  const failed = await finished(runId);
  expect(failed.status).toBe('failed');
  expect(failed.error.step).toBe('push');
  expect(hits('/data')).toBe(1);

  expect((await stack.call('POST', `/api/v1/runs/${runId}/resume`, { env: { TARGET: 'good' } }, stack.key)).status).toBe(202);
  const res = await stack.call('POST', `/api/v1/runs/${runId}/resume`, { env: { TARGET: 'good' } }, stack.key);
  expect(res.body).toEqual({ batch_id: expect.any(String), runs: [{ id: expect.any(String), resumed_from: runId, reused_steps: ['fetch'] }] });
  const resumed = await finished(res.body.runs[0].id);
  expect(resumed).toMatchObject({ status: 'succeeded', resumed_from: runId, source: 'rerun' });
  expect(resumed.actions.map((a: Loose) => [a.step_id, a.status])).toEqual([
    ['fetch', 'succeeded'],
    ['push', 'succeeded'],
    ['report', 'succeeded'],
  ]);
  expect(resumed.actions.find((a: Loose) => a.step_id === 'report').output).toBe(42);
  expect(hits('/data')).toBe(1);
  expect(stack.stub.requests.filter((r) => r.url === '/good').map((r) => r.body)).toEqual([{ n: 7 }, { n: 7 }]);

  const again = await stack.call('POST', `/api/v1/runs/${res.body.runs[0].id}/resume`, {}, stack.key);
  expect(again.status).toBe(409);
  expect(again.body.detail[0].loc).toEqual(['path', 'runId']);
});
