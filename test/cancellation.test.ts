/**
 * Cancellation reaches the work: a cancelled run stops its http step in flight (the step
 * heartbeats, so it hears the cancellation within about a second and aborts its request), and one
 * run of a batch can be cancelled, started or not, while the batch goes on with the others.
 */
import { until, withStack } from './harness';

const stack = withStack({
  workers: true,
  stub: (req) => (req.url.startsWith('/slow') ? { delayMs: 30_000, body: { late: true } } : { body: { ok: true } }),
  app: 'shop',
});

const runOf = async (runId: string) => (await stack.call('GET', `/api/v1/runs/${runId}`, undefined, stack.key)).body;

async function flow(id: string, steps: unknown[]): Promise<void> {
  const res = await stack.call('POST', '/api/v1/flows', { id, name: id, steps }, stack.key);
  expect(res.status).toBe(201);
}

it('when a run is cancelled during a slow http step, then the request is aborted and the run ends cancelled in that step within 2 s', async () => {
  await flow('slow-call', [{ id: 'call', type: 'http', config: { url: `${stack.stub.url}/slow`, timeoutMs: 60_000 } }]);
  const t = await stack.call('POST', '/api/v1/flows/run', { app_id: stack.appId, flow_ids: ['slow-call'] }, stack.key);
  const runId: string = t.body.runs[0].id;
  await until('the request to reach the stub', async () => (stack.stub.requests.some((r) => r.url === '/slow') ? true : undefined));

  const cancelledAt = Date.now();
  const cancel = await stack.call('POST', `/api/v1/runs/${runId}/cancel`, undefined, stack.key);
  expect(cancel.status).toBe(202);
  const run = await until('the run to end', async () => {
    const r = await runOf(runId);
    return r.status === 'cancelled' ? r : undefined;
  });
  expect(Date.now() - cancelledAt).toBeLessThan(2000);
  expect(run.error).toMatchObject({ step: 'call' });
  expect(run.actions.find((a: { step_id: string }) => a.step_id === 'call').status).toBe('cancelled');
  const aborted = await until('the stub to see the request aborted', async () => stack.stub.aborted.find((a) => a.url === '/slow'), 5000);
  expect(aborted.at - cancelledAt).toBeLessThan(2000);
});

it('when one run of a batch is cancelled, queued or running, then only it ends cancelled and the batch runs the rest', async () => {
  await flow('first', [{ id: 'wait', type: 'delay', config: { durationMs: 60_000 } }]);
  await flow('second', [{ id: 'ok', type: 'transform', config: { expression: '1' } }]);
  await flow('third', [{ id: 'ok', type: 'transform', config: { expression: '1' } }]);
  const t = await stack.call('POST', '/api/v1/flows/run', { app_id: stack.appId, flow_ids: ['first', 'second', 'third'], max_parallel: 1 }, stack.key);
  expect(t.status).toBe(200);
  const [first, second, third] = t.body.runs.map((r: { id: string }) => r.id);
  await until('the first run to start', async () => ((await runOf(first)).status === 'running' ? true : undefined));

  // Not started yet: the batch skips it, and says so at once.
  const queued = await stack.call('POST', `/api/v1/runs/${third}/cancel`, undefined, stack.key);
  expect(queued.status).toBe(202);
  await until('the queued run to show cancelled', async () => ((await runOf(third)).status === 'cancelled' ? true : undefined), 2000);

  // Running: cancelled, and the batch moves on to the next run.
  expect((await stack.call('POST', `/api/v1/runs/${first}/cancel`, undefined, stack.key)).status).toBe(202);
  const batch = await until('the batch to complete', async () => {
    const b = (await stack.call('GET', `/api/v1/runs/status?batch_id=${t.body.batch_id}`, undefined, stack.key)).body;
    return b.is_complete ? b : undefined;
  });
  expect(batch.runs.map((r: { id: string; status: string }) => [r.id, r.status])).toEqual([
    [first, 'cancelled'],
    [second, 'succeeded'],
    [third, 'cancelled'],
  ]);
  expect((await runOf(third)).started_at).toBeNull();
});
