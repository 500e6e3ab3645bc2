/**
 * The agent-runs contract — run a flow on a named agent: agents of an account, connected when their process
 * long-polls the gateway, the seed's PUT answered with a RunId, the run's steps executed by the
 * agent (a process of its own holding only the gateway's address and a key) through a temporary
 * schedule, and recorded by the platform.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { ScheduleNotFoundError } from '@temporalio/client';
import { workerIdentity } from '../apps/worker/worker';
import { startAgent, withStack, type RunningAgent } from './harness';

let agent: RunningAgent | undefined;
const agentName = `agent-a-${randomBytes(4).toString('hex')}`;
let agentIdentity: string;
const defaultIdentity = workerIdentity();
const schedulesToClean: string[] = [];

const stack = withStack({
  workers: true,
  stub: true,
  app: 'shop',
  teardown: async () => {
    for (const id of schedulesToClean) await stack.client.schedule.getHandle(id).delete().catch(() => undefined);
    await agent?.stop();
  },
});

beforeAll(async () => {
  agent = await startAgent(stack, agentName, stack.key);
  agentIdentity = agent.identity;
  expect(agentIdentity).toMatch(new RegExp(`^agent:${agentName}@${os.hostname()}:\\d+$`));
});

let seq = 0;
async function createFlow(def: Record<string, unknown>): Promise<string> {
  const id = `agent-flow-${Date.now().toString(36)}-${seq++}`;
  const res = await stack.call('POST', '/api/v1/flows', { id, name: id, ...def }, stack.key);
  if (res.status !== 201) throw new Error(`create flow: ${res.status} ${JSON.stringify(res.body)}`);
  return id;
}

const transformFlow = { steps: [{ id: 'hello', type: 'transform', config: { expression: "'hello'" } }] };

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function waitForRun(runId: string): Promise<any> {
  return eventually(`run ${runId} to finish`, async () => {
    const res = await stack.call('GET', `/api/v1/runs/${runId}`, undefined, stack.key);
    expect(res.status).toBe(200);
    return ['succeeded', 'failed', 'cancelled', 'timed_out'].includes(res.body.status) ? res.body : undefined;
  });
}

/** Who completed the run's workflow tasks, and who ran each activity type, from its Temporal history. */
async function executorsOf(runId: string): Promise<{ workflowTasks: Set<string>; activities: Map<string, Set<string>> }> {
  const history = await stack.client.workflow.getHandle(`run-${runId}`).fetchHistory();
  const workflowTasks = new Set<string>();
  const scheduled = new Map<string, string>();
  const activities = new Map<string, Set<string>>();
  for (const e of history.events ?? []) {
    if (e.workflowTaskCompletedEventAttributes?.identity) workflowTasks.add(e.workflowTaskCompletedEventAttributes.identity);
    if (e.activityTaskScheduledEventAttributes) scheduled.set(String(e.eventId), e.activityTaskScheduledEventAttributes.activityType?.name ?? '?');
    const started = e.activityTaskStartedEventAttributes;
    if (started?.identity) {
      const type = scheduled.get(String(started.scheduledEventId)) ?? '?';
      activities.set(type, new Set([...(activities.get(type) ?? []), started.identity]));
    }
  }
  return { workflowTasks, activities };
}

/** Which agent processes took the run's step attempts, and how each ended (the gateway's queue). */
async function agentAttemptsOf(runId: string): Promise<{ claimed_by: string | null; status: string; step_key: string; attempt: number }[]> {
  return stack.dataSource.query(
    `SELECT a.claimed_by, a.status, a.step_key, a.attempt FROM agent_attempts a JOIN runs r ON r.id = a.run_id WHERE r.public_id = $1 OR r.id = $1 ORDER BY a.created_at`,
    [runId],
  );
}

/** The identities that ran any activity of the run. */
const anyActivity = (m: Map<string, Set<string>>): string[] => [...new Set([...m.values()].flatMap((s) => [...s]))].sort();

/** The seed's curl, replayed with fetch: `curl -X PUT --header 'Accept: application/json' --header 'AccessKey: K' <url>`. */
async function seedCurl(flowId: string, agentId: string, opts: { query?: string; body?: unknown; accessKey?: string | null; method?: string } = {}) {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const accessKey = opts.accessKey === undefined ? stack.key : opts.accessKey;
  if (accessKey !== null) headers.AccessKey = accessKey;
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`${stack.baseUrl}/api/v4/flows/${flowId}/agent/${agentId}${opts.query ?? ''}`, {
    method: opts.method ?? 'PUT',
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

const scheduleExists = async (scheduleId: string): Promise<boolean> => {
  try {
    await stack.client.schedule.getHandle(scheduleId).describe();
    return true;
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return false;
    throw err;
  }
};

describe('agent-runs contract: run a flow on an agent', () => {
  beforeEach(() => {
    stack.stub.requests.length = 0;
  });

  it('when an agent is started with its name and the account key, then GET /api/v1/agents lists it online with a recent poll, running nothing', async () => {
    const listed = await eventually('the agent to be listed', async () => {
      const res = await stack.call('GET', '/api/v1/agents', undefined, stack.key);
      expect(res.status).toBe(200);
      return res.body.data.find((a: any) => a.id === agentName);
    });
    expect(listed).toMatchObject({ id: agentName, name: agentName, online: true, running: [] });
    expect(listed).not.toHaveProperty('taskQueue');
    expect(Date.now() - Date.parse(listed.lastPollTime)).toBeLessThan(30_000);
    expect(listed.pollers.map((p: any) => p.identity)).toEqual([agentIdentity]);
    expect(Date.parse(listed.pollers[0].lastAccessTime)).toBe(Date.parse(listed.lastPollTime));
  });

  it("when the seed's curl is replayed, then it answers the RunId and the run's step executes on the agent, its schedule kept", async () => {
    const flowId = await createFlow(transformFlow);
    const res = await seedCurl(flowId, agentName);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ $id: '1', RunId: expect.any(String) });
    const runId: string = res.body.RunId;
    schedulesToClean.push(`agent-run-${runId}`);

    const atOnce = await stack.call('GET', `/api/v1/runs/${runId}`, undefined, stack.key);
    expect(atOnce.status).toBe(200);
    expect(atOnce.body).toMatchObject({ flow_id: flowId, source: 'agent' });
    expect(['queued', 'running', 'succeeded']).toContain(atOnce.body.status);
    const seed004 = await stack.call('GET', `/api/v1/flows/${flowId}/runs/${runId}`, undefined, stack.key);
    expect(seed004.status).toBe(200);
    expect(seed004.body).toMatchObject({ id: runId, triggerType: 'AGENT' });

    const run = await waitForRun(runId);
    expect(run.status).toBe('succeeded');
    expect(run.actions.find((a: any) => a.step_id === 'hello').output).toBe('hello');
    const batch = await stack.call('GET', `/api/v1/runs/status?batch_id=${run.batch_id}`, undefined, stack.key);
    expect(batch.body).toMatchObject({ is_complete: true, status: 'succeeded', source: 'agent', runs: [{ id: runId, status: 'succeeded' }] });
    // The agent ran the step, the platform everything else: the workflow, the hand-over and the records.
    const { workflowTasks, activities } = await executorsOf(runId);
    expect([...workflowTasks]).toEqual([defaultIdentity]);
    expect(activities.has('dispatchToAgent')).toBe(true);
    expect(activities.has('executeStep')).toBe(false);
    expect(anyActivity(activities)).toEqual([defaultIdentity]);
    expect(await agentAttemptsOf(runId)).toEqual([{ claimed_by: agentIdentity, status: 'done', step_key: 'hello', attempt: 1 }]);

    const schedule = await stack.client.schedule.getHandle(`agent-run-${runId}`).describe();
    expect(schedule.state.paused).toBe(true);
    expect(schedule.info.recentActions).toHaveLength(1);
  });

  it('when a flow is run through POST /api/v1/flows/run, then the default worker executes it, not the agent', async () => {
    const flowId = await createFlow(transformFlow);
    const t = await stack.call('POST', '/api/v1/flows/run', { app_id: stack.appId, flow_ids: [flowId] }, stack.key);
    expect(t.status).toBe(200);
    const runId: string = t.body.runs[0].id;
    expect((await waitForRun(runId)).status).toBe('succeeded');
    // Its one step, a transform, is a local activity: it ran in the default worker's workflow task.
    const { workflowTasks, activities } = await executorsOf(runId);
    expect([...workflowTasks]).toEqual([defaultIdentity]);
    expect(anyActivity(activities)).toEqual(activities.size > 0 ? [defaultIdentity] : []);
    expect(activities.has('dispatchToAgent')).toBe(false);
    expect(await agentAttemptsOf(runId)).toEqual([]);
  });

  it('when schedule variables are sent with isDelete=true, then the flow reads them as ${env:...} and the schedule is gone after the run', async () => {
    const flowId = await createFlow({
      variables: { var2: 'from-flow' },
      steps: [{ id: 'call', type: 'http', config: { url: '${env:BASE}/agent?var1=${env:var1}&var2=${env:var2}' } }],
    });
    const res = await seedCurl(flowId, agentName, { query: '?isDelete=true', body: { variables: { BASE: stack.stub.url, var1: 'val1', var2: 'val2' } } });
    expect(res.status).toBe(200);
    const runId: string = res.body.RunId;
    expect((await waitForRun(runId)).status).toBe('succeeded');
    expect(stack.stub.requests.map((r) => r.url)).toEqual(['/agent?var1=val1&var2=val2']);
    expect((await agentAttemptsOf(runId)).map((a) => a.claimed_by)).toEqual([agentIdentity]);
    // What the agent did is recorded by the platform: the request is in the run's network artifact.
    const network = await fetch(`${stack.baseUrl}/api/v1/runs/${runId}/artifacts/network.jsonl`, { headers: { 'X-API-Key': stack.key } });
    expect(network.status).toBe(200);
    expect((await network.text()).trim().split('\n').map((l) => JSON.parse(l).url)).toEqual([`${stack.stub.url}/agent?var1=val1&var2=val2`]);
    await eventually('the schedule to be deleted', async () => ((await scheduleExists(`agent-run-${runId}`)) ? undefined : true));
    await expect(stack.client.schedule.getHandle(`agent-run-${runId}`).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
  });

  it('when isDelete is false in the body, then the schedule remains after the run', async () => {
    const flowId = await createFlow(transformFlow);
    const res = await seedCurl(flowId, agentName, { body: { isDelete: false } });
    expect(res.status).toBe(200);
    const runId: string = res.body.RunId;
    schedulesToClean.push(`agent-run-${runId}`);
    expect((await waitForRun(runId)).status).toBe('succeeded');
    await new Promise((r) => setTimeout(r, 1000));
    expect(await scheduleExists(`agent-run-${runId}`)).toBe(true);
  });

  it('when a step fails on the agent, then the flow\'s retries run there and every attempt is recorded by the platform', async () => {
    stack.stub.setHandler((req) => (req.url.startsWith('/down') ? { status: 503, body: { down: true } } : { status: 200, body: { ok: true } }));
    try {
      const flowId = await createFlow({
        steps: [{ id: 'call', type: 'http', config: { url: `${stack.stub.url}/down`, expectStatus: [200] }, retry: { maxAttempts: 2, initialIntervalMs: 100 } }],
      });
      const res = await seedCurl(flowId, agentName, { query: '?isDelete=true' });
      const run = await waitForRun(res.body.RunId);
      expect(run.status).toBe('failed');
      expect(run.error.message).toMatch(/503/);
      expect(run.actions.find((a: any) => a.step_id === 'call')).toMatchObject({ status: 'failed', attempts: 2 });
      expect(stack.stub.requests.filter((r) => r.url === '/down')).toHaveLength(2);
      expect((await agentAttemptsOf(res.body.RunId)).map((a) => [a.attempt, a.claimed_by, a.status])).toEqual([
        [1, agentIdentity, 'done'],
        [2, agentIdentity, 'done'],
      ]);
      const network = await fetch(`${stack.baseUrl}/api/v1/runs/${res.body.RunId}/artifacts/network.jsonl`, { headers: { 'X-API-Key': stack.key } });
      expect((await network.text()).trim().split('\n').map((l) => [JSON.parse(l).attempt, JSON.parse(l).status])).toEqual([
        [1, 503],
        [2, 503],
      ]);
    } finally {
      stack.stub.setHandler(() => ({ status: 200, body: { ok: true } }));
    }
  });

  it("when another account looks for the agent, then it is not there: not listed, not runnable, its name free for that account's own agent", async () => {
    const other = await stack.newAccount();
    const listed = await stack.call('GET', '/api/v1/agents', undefined, other.apiKey);
    expect(listed.status).toBe(200);
    expect(listed.body.data).toEqual([]);
    const flow = await stack.call('POST', '/api/v1/flows', { id: 'theirs', name: 'theirs', ...transformFlow }, other.apiKey);
    expect(flow.status).toBe(201);
    const sent = await seedCurl('theirs', agentName, { accessKey: other.apiKey });
    expect(sent.status).toBe(404);
    expect(sent.body.detail[0].loc).toEqual(['path', 'agentId']);
    expect((await stack.call('DELETE', `/api/v1/agents/${agentName}`, undefined, other.apiKey)).status).toBe(404);

    const own = await stack.call('PUT', `/api/v1/agents/${agentName}`, undefined, other.apiKey);
    expect(own.status).toBe(200);
    expect(own.body).toEqual({ id: agentName, name: agentName, online: false, lastPollTime: null, pollers: [], running: [] });
    const ours = await stack.call('GET', '/api/v1/agents', undefined, stack.key);
    expect(ours.body.data).toEqual([expect.objectContaining({ id: agentName, online: true, pollers: [expect.objectContaining({ identity: agentIdentity })] })]);
    // Their agent of the same name, polling with their key, finds none of this account's work.
    const polled = await stack.call('POST', `/api/v1/agents/${agentName}/attempts/next?wait=0`, {}, other.apiKey);
    expect(polled.status).toBe(204);
  });

  it('when the flow is unknown, then 404 names path.flowId', async () => {
    const res = await seedCurl('no-such-flow', agentName);
    expect(res.status).toBe(404);
    expect(res.body.detail[0].loc).toEqual(['path', 'flowId']);
  });

  it('when the agent is unknown, then 404 names path.agentId', async () => {
    const flowId = await createFlow(transformFlow);
    const res = await seedCurl(flowId, '69f7b3e7-ha24-83e7-a2d6-98895128vc6z');
    expect(res.status).toBe(404);
    expect(res.body.detail[0].loc).toEqual(['path', 'agentId']);
  });

  it('when the key is missing or wrong, then 401', async () => {
    const flowId = await createFlow(transformFlow);
    expect((await seedCurl(flowId, agentName, { accessKey: null })).status).toBe(401);
    expect((await seedCurl(flowId, agentName, { accessKey: 'Mo87Nc4qDAtzJNDb' })).status).toBe(401);
  });

  it('when the path is asked with GET or POST, then 405 with Allow: PUT', async () => {
    const flowId = await createFlow(transformFlow);
    for (const method of ['GET', 'POST']) {
      const res = await seedCurl(flowId, agentName, { method });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toContain('PUT');
    }
  });

  it('when isDelete is not a boolean, then 400 names it', async () => {
    const flowId = await createFlow(transformFlow);
    const inQuery = await seedCurl(flowId, agentName, { query: '?isDelete=maybe' });
    expect(inQuery.status).toBe(400);
    expect(inQuery.body.detail[0].loc).toEqual(['query', 'isDelete']);
    const inBody = await seedCurl(flowId, agentName, { body: { isDelete: 'yes' } });
    expect(inBody.status).toBe(400);
    expect(inBody.body.detail[0].loc).toEqual(['body', 'isDelete']);
  });

  it('when the batch of an agent run is cancelled through the API, then its schedule-started workflow is found and the run is cancelled', async () => {
    const flowId = await createFlow({ steps: [{ id: 'wait', type: 'delay', config: { durationMs: 60_000 } }] });
    const res = await seedCurl(flowId, agentName, { query: '?isDelete=true' });
    expect(res.status).toBe(200);
    const runId = res.body.RunId;
    const batchId = await eventually('the run to start', async () => {
      const r = await stack.call('GET', `/api/v1/runs/${runId}`, undefined, stack.key);
      return r.body.status === 'running' ? (r.body.batch_id as string) : undefined;
    });
    const cancel = await stack.call('POST', `/api/v1/batches/${batchId}/cancel`, undefined, stack.key);
    expect(cancel.status).toBe(202);
    expect((await waitForRun(runId)).status).toBe('cancelled');
  });

  it('when an agent is registered and removed at the same time, again and again, then every answer is a 200, 204 or 404, never a 5xx', async () => {
    const statuses = new Set<number>();
    for (let i = 0; i < 40; i++) {
      const [put, del] = await Promise.all([
        stack.call('PUT', '/api/v1/agents/racing', undefined, stack.key),
        stack.call('DELETE', '/api/v1/agents/racing', undefined, stack.key),
      ]);
      statuses.add(put.status).add(del.status);
    }
    expect([...statuses].filter((s) => s >= 500)).toEqual([]);
  });
});
