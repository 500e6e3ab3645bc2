/**
 * Live progress over Server-Sent Events, read with a raw HTTP client: every event of a batch once,
 * in order, with ids; a reconnect with Last-Event-ID loses and repeats nothing; a step's end is on
 * the stream within a second of being recorded; approvals show as run.waiting; keep-alives flow.
 */
import http from 'node:http';
import { RunEntity, StepRunEntity } from '../db/entities';
import { eventually, withStack, type Loose } from './harness';

const stack = withStack({
  env: { FLOWRUNS_SSE_HEARTBEAT_MS: '300', FLOWRUNS_MAX_STREAMS_PER_ACCOUNT: '4' },
  workers: true,
  stub: (req) => (req.url === '/slow' ? { delayMs: 600, body: { n: 3 } } : { body: { ok: true } }),
  app: 'shop',
});

beforeAll(async () => {
  await stack.call(
    'POST',
    '/api/v1/flows',
    {
      id: 'two-steps',
      name: 'two steps',
      steps: [
        { id: 'fetch', type: 'http', config: { url: `${stack.stub.url}/slow` } },
        { id: 'count', type: 'transform', config: { expression: 'steps.fetch.output.body.n' } },
      ],
    },
    stack.key,
  );
});

interface Frame {
  id?: string;
  event?: string;
  data?: Loose;
  at: number;
}

interface Stream {
  status: number;
  frames: Frame[];
  comments: number;
  ended: Promise<void>;
  close(): void;
  /** Resolves when a frame satisfying `ok` has arrived. */
  until(ok: (f: Frame) => boolean, timeoutMs?: number): Promise<Frame>;
}

function open(path: string, apiKey: string, lastEventId?: string): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${stack.baseUrl}${path}`, { headers: { 'X-API-Key': apiKey, Accept: 'text/event-stream', ...(lastEventId ? { 'Last-Event-ID': lastEventId } : {}) } }, (res) => {
      const frames: Frame[] = [];
      let comments = 0;
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const frame: Frame = { at: Date.now() };
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments++;
            else if (line.startsWith('id: ')) frame.id = line.slice(4);
            else if (line.startsWith('event: ')) frame.event = line.slice(7);
            else if (line.startsWith('data: ')) frame.data = JSON.parse(line.slice(6));
          }
          if (frame.event) frames.push(frame);
        }
      });
      const ended = new Promise<void>((done) => res.on('end', () => done()).on('close', () => done()));
      resolve({
        status: res.statusCode ?? 0,
        frames,
        get comments() {
          return comments;
        },
        ended,
        close: () => req.destroy(),
        until: async (ok, timeoutMs = 20_000) => {
          const deadline = Date.now() + timeoutMs;
          for (;;) {
            const f = frames.find(ok);
            if (f) return f;
            if (Date.now() > deadline) throw new Error(`no such event within ${timeoutMs} ms; got ${frames.map((x) => x.event).join(', ')}`);
            await new Promise((r) => setTimeout(r, 20));
          }
        },
      });
    });
    req.on('error', reject);
  });
}

async function trigger(flowId: string): Promise<{ batchId: string; runId: string }> {
  const t = await stack.call('POST', '/api/v1/flows/run', { app_id: stack.appId, flow_ids: [flowId] }, stack.key);
  expect(t.status).toBe(200);
  return { batchId: t.body.batch_id, runId: t.body.runs[0].id };
}

const summary = (frames: Frame[]) => frames.filter((f) => f.event !== 'log').map((f) => [f.event, f.data?.step_id ?? null, f.data?.status ?? null]);

it('when a batch is followed, then its events arrive in order with increasing ids, a step end within a second, and the stream ends after batch.finished', async () => {
  const { batchId, runId } = await trigger('two-steps');
  const stream = await open(`/api/v1/batches/${batchId}/events`, stack.key);
  expect(stream.status).toBe(200);
  await stream.ended;

  expect(summary(stream.frames)).toEqual([
    ['run.started', null, null],
    ['step.started', 'fetch', null],
    ['step.finished', 'fetch', 'succeeded'],
    ['step.started', 'count', null],
    ['step.finished', 'count', 'succeeded'],
    ['run.finished', null, 'succeeded'],
    ['batch.finished', null, null],
  ]);
  const ids = stream.frames.map((f) => BigInt(f.id!));
  expect(ids.every((id, i) => i === 0 || id > ids[i - 1]!)).toBe(true);
  expect(stream.frames.every((f) => f.data.run_id === runId && f.data.batch_id === batchId)).toBe(true);

  const run = await stack.dataSource.getRepository(RunEntity).findOneByOrFail({ publicId: runId });
  const fetchRow = await stack.dataSource.getRepository(StepRunEntity).findOneByOrFail({ runId: run.id, stepId: 'fetch' });
  const seen = stream.frames.find((f) => f.event === 'step.finished' && f.data.step_id === 'fetch')!;
  expect(seen.at - fetchRow.finishedAt!.getTime()).toBeLessThan(1000);
});

it('when a client reconnects with Last-Event-ID, then it gets every remaining event exactly once', async () => {
  const { batchId } = await trigger('two-steps');
  const first = await open(`/api/v1/batches/${batchId}/events`, stack.key);
  const cut = await first.until((f) => f.event === 'step.finished');
  first.close();
  const got = first.frames.slice(0, first.frames.indexOf(cut) + 1);

  const rest = await open(`/api/v1/batches/${batchId}/events`, stack.key, cut.id);
  await rest.ended;
  const replay = await open(`/api/v1/batches/${batchId}/events`, stack.key);
  await replay.ended;
  expect([...got, ...rest.frames].map((f) => f.id)).toEqual(replay.frames.map((f) => f.id));
  expect(rest.frames[0] && BigInt(rest.frames[0].id!)).toBeGreaterThan(BigInt(cut.id!));

  // A client reconnecting after the end event (it lost the close) gets nothing more, and the stream ends.
  const past = await open(`/api/v1/batches/${batchId}/events`, stack.key, replay.frames.at(-1)!.id);
  await past.ended;
  expect(past.frames).toEqual([]);
});

it('when a run waits for approval, then its stream says run.waiting, keeps alive, and ends after run.finished once approved', async () => {
  await stack.call('POST', '/api/v1/flows', { id: 'gated', name: 'gated', steps: [{ id: 'ok', type: 'approval', config: { message: 'ship it?' } }] }, stack.key);
  const { runId } = await trigger('gated');
  const stream = await open(`/api/v1/runs/${runId}/events`, stack.key);
  await stream.until((f) => f.event === 'run.waiting');
  await new Promise((r) => setTimeout(r, 800));
  expect(stream.comments).toBeGreaterThanOrEqual(1);
  expect((await stack.call('POST', `/api/v1/runs/${runId}/steps/ok/approve`, {}, stack.key)).status).toBe(202);
  await stream.ended;
  expect(summary(stream.frames).map(([e]) => e)).toEqual(['run.started', 'step.started', 'run.waiting', 'step.finished', 'run.finished']);
});

it("when an account's keys together hold as many streams as it may, then one more is 429 naming the account's bound, while another account's opens", async () => {
  const held = { id: 'held', steps: [{ id: 'ok', type: 'approval', config: { message: 'hold' } }] };
  const waitingRun = async (owner: string) => {
    if ((await stack.call('GET', '/api/v1/flows/held', undefined, owner)).status === 404) expect((await stack.call('POST', '/api/v1/flows', held, owner)).status).toBe(201);
    const res = await stack.call('POST', '/api/v1/flows/held/runs', { data: {} }, owner);
    expect(res.status).toBe(201);
    return `/api/v1/runs/${res.body.id}/events`;
  };
  const path = await waitingRun(stack.key);
  const second = (await stack.call('POST', '/api/v1/api-keys', { name: 'second' }, stack.key)).body.apiKey as string;
  const streams = [await open(path, stack.key), await open(path, stack.key), await open(path, second), await open(path, second)];
  try {
    expect(streams.map((s) => s.status)).toEqual([200, 200, 200, 200]);
    const refused = await stack.call('GET', path, undefined, second);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toBe('at most 4 event streams per account at once (all its keys together); close one first');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

    const other = (await stack.newAccount()).apiKey;
    const theirs = await open(await waitingRun(other), other);
    expect(theirs.status).toBe(200);
    theirs.close();

    // A closed stream frees its place.
    streams.shift()?.close();
    const again = await eventually(() => open(path, second), (s) => s.status === 200, 5000);
    streams.push(again);
    expect(again.status).toBe(200);
  } finally {
    for (const s of streams) s.close();
  }
});

it("when another account asks for the streams, then 404 at once", async () => {
  const { batchId, runId } = await trigger('two-steps');
  const other = (await stack.newAccount()).apiKey;
  for (const path of [`/api/v1/batches/${batchId}/events`, `/api/v1/runs/${runId}/events`]) {
    const s = await open(path, other);
    expect(s.status).toBe(404);
    await s.ended;
  }
});

it('when a run finished long ago without its end line (stopped outside the platform), then its stream and its batch stream end once the lines are sent', async () => {
  const { batchId, runId } = await trigger('two-steps');
  const done = await open(`/api/v1/runs/${runId}/events`, stack.key);
  await done.ended;
  await stack.dataSource.query(`DELETE FROM run_logs WHERE run_id = (SELECT id FROM runs WHERE public_id = $1) AND key IN ('run.finished', 'batch.finished')`, [runId]);
  await stack.dataSource.query(`UPDATE runs SET finished_at = now() - interval '1 minute' WHERE public_id = $1`, [runId]);
  for (const path of [`/api/v1/runs/${runId}/events`, `/api/v1/batches/${batchId}/events`]) {
    const s = await open(path, stack.key);
    await s.ended;
    expect(s.frames.map((f) => f.event)).toContain('run.started');
    expect(s.frames.map((f) => f.event)).not.toContain('run.finished');
  }
});
