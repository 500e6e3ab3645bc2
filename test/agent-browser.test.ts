/**
 * A browser step on an agent: the agent (a process of its own, holding only the gateway's address
 * and its account key) drives its own Chromium behind its own egress proxy, reads the visual
 * baseline from the gateway with its key, and hands its screenshots, console, requests and actions
 * back through the gateway; the platform's worker keeps them, so the run's screenshots download
 * from the API like any other run's.
 */
import { randomBytes } from 'node:crypto';
import { PNG } from 'pngjs';
import { AGENT_MAX_FILE_BYTES, recordHandedBack, type AgentPageRecords } from '../activities/browser/agent-recorder';
import type { PageRecorder } from '../activities/browser/recorder';
import { runDetailWhenEnded, startAgent, withStack, type Loose, type RunningAgent } from './harness';

let agent: RunningAgent;
let variant = 'blue';
const agentName = `browser-agent-${randomBytes(4).toString('hex')}`;

const stack = withStack({
  workers: true,
  stub: () => ({
    headers: { 'content-type': 'text/html; charset=utf-8' },
    body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Box</title></head><body><h1>Box</h1><div style="width:400px;height:300px;background:${variant}"></div><script>console.warn('from the page')</script></body></html>`,
  }),
  account: true,
  teardown: () => agent?.stop(),
});

beforeAll(async () => {
  agent = await startAgent(stack, agentName, stack.key);
  const flow = {
    id: 'box-on-agent',
    name: 'box on agent',
    steps: [
      {
        id: 'look',
        type: 'browser',
        config: {
          url: `${stack.stub.url}/box`,
          viewport: '800,600',
          actions: [
            { action: 'expect', selector: 'h1', text: 'Box' },
            { action: 'screenshot', name: 'box', vrt: { threshold: 99 } },
          ],
        },
      },
    ],
  };
  expect((await stack.call('POST', '/api/v1/flows', flow, stack.key)).status).toBe(201);
}, 120_000);


const get = (url: string) => fetch(url, { headers: { 'X-API-Key': stack.key } });

async function runOnAgent(): Promise<Loose> {
  const res = await fetch(`${stack.baseUrl}/api/v4/flows/box-on-agent/agent/${agentName}?isDelete=true`, { method: 'PUT', headers: { AccessKey: stack.key } });
  expect(res.status).toBe(200);
  const runId: string = ((await res.json()) as { RunId: string }).RunId;
  return runDetailWhenEnded(stack, runId, stack.key, 90_000);
}

/** The agent processes that took the run's step attempts (the gateway's queue). */
async function stepRunners(runId: string): Promise<string[]> {
  const rows: { claimed_by: string }[] = await stack.dataSource.query(
    `SELECT DISTINCT a.claimed_by FROM agent_attempts a JOIN runs r ON r.id = a.run_id WHERE r.public_id = $1 OR r.id = $1`,
    [runId],
  );
  return rows.map((r) => r.claimed_by);
}

it('when a browser step runs on an agent, then the agent drives the page and the platform keeps its screenshots, console and baseline', async () => {
  const first = await runOnAgent();
  expect(first.status).toBe('succeeded');
  expect(await stepRunners(first.id)).toEqual([agent.identity]);

  const shot = first.actions.find((a: Loose) => a.step_id === 'look' && a.action === 'screenshot');
  expect(shot).toMatchObject({ status: 'succeeded', screenshot_url: expect.stringContaining(`/api/v1/runs/${first.id}/artifacts/screenshots/look/box.png`) });
  const png = await get(shot.screenshot_url);
  expect(png.status).toBe(200);
  expect(PNG.sync.read(Buffer.from(await png.arrayBuffer()))).toMatchObject({ width: 800, height: 600 });
  const log = await (await get(`${stack.baseUrl}/api/v1/runs/${first.id}/artifacts/log.jsonl`)).text();
  expect(log).toContain('from the page');
  const network = await (await get(`${stack.baseUrl}/api/v1/runs/${first.id}/artifacts/network.jsonl`)).text();
  expect(network).toContain(`${stack.stub.url}/box`);

  // The agent's first screenshot became the baseline, recorded by the platform for the run's own account and flow.
  const baselines = await stack.call('GET', '/api/v1/flows/box-on-agent/baselines', undefined, stack.key);
  expect(baselines.body.data).toMatchObject([{ step_id: 'look', name: 'box', browser: 'chromium', viewport: '800x600', run_id: first.id }]);

  // The next run on the agent compares against it (read from the gateway); a changed page fails with a diff.
  expect((await runOnAgent()).status).toBe('succeeded');
  variant = 'red';
  const changed = await runOnAgent();
  expect(changed.status).toBe('failed');
  expect(changed.error.message).toMatch(new RegExp(`screenshot box: [\\d.]+% similar to the baseline of run ${first.id}, below the threshold of 99%`));
  const diff = await get(`${stack.baseUrl}/api/v1/runs/${changed.id}/artifacts/screenshots/look/box.diff.png`);
  expect(diff.status).toBe(200);
});

it('when an agent hands back a file with an unsafe name or too many bytes, then nothing is written and the attempt fails for good', async () => {
  const written: string[] = [];
  const recorder: PageRecorder = {
    keep: async (_job, f) => void written.push(f.name),
    baseline: async () => null,
    setBaseline: async (k) => void written.push(k.name),
    flush: async () => void written.push('flush'),
  };
  const attempt = { runId: 'r', stepKey: 'look', attempt: 1, accountId: 'a', flowId: 'f', publicRunId: 'r' };
  const records = (files: AgentPageRecords['files']): AgentPageRecords => ({ files, baselines: [], requests: [], lines: [], details: null });
  const png = Buffer.from('png').toString('base64');
  await expect(recordHandedBack(recorder, attempt, records([{ name: 'ok.png', kind: 'screenshot', data: png, meta: {} }, { name: '../../etc/passwd', kind: 'screenshot', data: png, meta: {} }]))).rejects.toMatchObject({
    type: 'AgentRecordsInvalid',
    nonRetryable: true,
  });
  const big = Buffer.alloc(AGENT_MAX_FILE_BYTES + 1).toString('base64');
  await expect(recordHandedBack(recorder, attempt, records([{ name: 'big.png', kind: 'screenshot', data: big, meta: {} }]))).rejects.toMatchObject({ type: 'AgentRecordsInvalid' });
  expect(written).toEqual([]);
});
