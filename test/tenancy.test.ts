/**
 * Tenancy: ids another account could predict and claim, and a table generated from the OpenAPI
 * document — every endpoint called by another account with the first account's ids answers as if
 * they did not exist, so a new endpoint is covered by itself.
 */
import { createHash } from 'node:crypto';
import { withStack } from './harness';

const stack = withStack({ workers: true });

/** The id scheme an attacker would try: the old, unkeyed derivation from account and key. */
function predictable(accountId: string, key: string): string {
  const h = createHash('sha256').update(`${accountId}\n${key}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

async function until(probe: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 150 && !(await probe()); i++) await new Promise((r) => setTimeout(r, 200));
}

it('when another account claims the ids an idempotent trigger would once have derived, then the trigger gets other ids and nothing leaks', async () => {
  const victim = await stack.newAccount();
  const attacker = await stack.newAccount();
  const key = 'nightly-2026-11-24';
  for (const id of [predictable(victim.accountId, key), predictable(victim.accountId, `${key}#0`)]) {
    const claim = await stack.call('PUT', `/api/v1/flow-runs/${id}`, { flowId: 'decoy', flowType: 'automation', phase: 'succeeded' }, attacker.apiKey);
    expect(claim.status).toBeLessThan(300);
  }
  expect((await stack.call('POST', '/api/v1/flows', { id: 'private', steps: [{ id: 't', type: 'transform', config: { expression: '"victim data"' } }] }, victim.apiKey)).status).toBe(201);
  const app = await stack.call('POST', '/api/v1/apps', { name: 'a', platform: 'web' }, victim.apiKey);
  const trigger = await stack.call('POST', '/api/v1/flows/run', { app_id: app.body.id, flow_ids: ['private'] }, victim.apiKey, { 'Idempotency-Key': key });
  expect(trigger.status).toBe(200);
  const runId = trigger.body.runs[0].id;
  expect([trigger.body.batch_id, runId]).not.toContain(predictable(victim.accountId, key));
  expect(runId).not.toBe(predictable(victim.accountId, `${key}#0`));

  await until(async () => (await stack.call('GET', `/api/v1/runs/${runId}`, undefined, victim.apiKey)).body.status === 'succeeded');
  const mine = await stack.call('GET', `/api/v1/runs/${runId}`, undefined, victim.apiKey);
  expect(mine.body.actions[0].output).toBe('victim data');
  expect((await stack.call('GET', `/api/v1/runs/${runId}`, undefined, attacker.apiKey)).status).toBe(404);
  const decoy = await stack.call('GET', `/api/v1/flow-runs/${predictable(victim.accountId, `${key}#0`)}`, undefined, attacker.apiKey);
  expect(JSON.stringify(decoy.body)).not.toContain('victim data');
  const again = await stack.call('POST', '/api/v1/flows/run', { app_id: app.body.id, flow_ids: ['private'] }, victim.apiKey, { 'Idempotency-Key': key });
  expect(again.body.batch_id).toBe(trigger.body.batch_id);
});

it('when another account calls every endpoint of the OpenAPI document with the first account\'s ids, then it gets 404 or 403, never their data or a 5xx', async () => {
  const a = await stack.newAccount();
  const b = await stack.newAccount();
  const secret = `only-a-${Date.now()}`;
  const app = await stack.call('POST', '/api/v1/apps', { name: secret, platform: 'web', variables: { NOTE: secret } }, a.apiKey);
  const build = await stack.call('POST', `/api/v1/apps/${app.body.id}/builds`, { version: secret }, a.apiKey);
  await stack.call('POST', '/api/v1/flows', { id: 'a-flow', name: secret, steps: [{ id: 'wait', type: 'approval', config: {} }] }, a.apiKey);
  const suite = await stack.call('POST', '/api/v1/suites', { name: secret, flowIds: ['a-flow'] }, a.apiKey);
  const batch = await stack.call('POST', '/api/v1/flows/run', { app_id: app.body.id, flow_ids: ['a-flow'], data: { secret } }, a.apiKey);
  const runId = batch.body.runs[0].id;
  const objects = await stack.call('POST', '/v1/ops/flowrun', { site_id: app.body.id, flow_id: 'a-flow' }, a.apiKey);
  const key = await stack.call('POST', '/api/v1/api-keys', { name: secret }, a.apiKey);
  await until(async () => (await stack.call('GET', `/api/v1/runs/${runId}`, undefined, a.apiKey)).body.status === 'waiting');

  /** A's ids by path-parameter name; a parameter missing here fails the test, so new endpoints are covered. */
  const ids: Record<string, string> = {
    appId: app.body.id,
    buildId: build.body.id,
    flowId: 'a-flow',
    suiteId: suite.body.id,
    runId,
    batchId: batch.body.batch_id,
    id: objects.body.id ?? runId,
    keyId: key.body.id,
    stepId: 'wait',
    agentId: 'nobody',
    // An agent's attempt of A's (agent-faults.test.ts tries a real one): B must get 404 whether it exists or not.
    attemptId: '3f2a8c1e-5b7d-4e9f-a0c1-2d3e4f5a6b7c',
    // A's screenshot and baseline names: B must get 404 whether they exist or not.
    file: 'home.png',
    name: 'home',
  };
  const doc = (await stack.call('GET', '/openapi.json', undefined, null)).body;
  /** `aimed`: the call names one of A's things (in its path or query). */
  const calls: { method: string; path: string; aimed: boolean }[] = [];
  for (const [template, ops] of Object.entries<Record<string, any>>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(ops)) {
      if (op.security?.length === 0) continue; // public: health, docs
      if (template.startsWith('/api/v1/accounts') || template.startsWith('/api/v1/codec')) continue; // admin key only
      const path = template.replace(/\{(\w+)\}/g, (_m, name: string) => {
        if (!(name in ids)) throw new Error(`no id of account A for path parameter {${name}} (${method.toUpperCase()} ${template}): add one`);
        return encodeURIComponent(ids[name]);
      });
      const queries: Record<string, string> = {
        '/api/v1/runs/status': `?batch_id=${ids.batchId}`,
        '/v1/ops/flowrun': `?site_id=${ids.appId}`,
        '/api/v1/flows/{flowId}/baselines/{stepId}/{file}': '?browser=chromium&viewport=800x600',
        '/api/v1/agents/{agentId}/attempts/next': '?wait=0',
      };
      const query = queries[template] ?? '';
      calls.push({ method, path: path + query, aimed: path !== template || query !== '' });
    }
  }
  expect(calls.length).toBeGreaterThan(30);
  const body = { app_id: ids.appId, flow_ids: ['a-flow'], site_id: ids.appId, flow_id: 'a-flow', flowId: 'a-flow', flowType: 'automation', name: 'x', steps: [{ id: 't', type: 'transform', config: { expression: '1' } }] };
  // Deletes first: a PUT below may create a namesake in B's own namespace, which B may delete.
  for (const c of calls.filter((x) => x.method === 'delete')) {
    const res = await stack.call('DELETE', c.path, undefined, b.apiKey);
    expect([`DELETE ${c.path}`, [403, 404].includes(res.status)]).toEqual([`DELETE ${c.path}`, true]);
  }
  // Reads next, before any PUT or POST below can create B's own namesake of what they name.
  const byMethod = (m: string) => (m === 'get' ? 0 : 1);
  for (const c of [...calls].sort((x, y) => byMethod(x.method) - byMethod(y.method))) {
    if (c.method === 'delete') continue;
    const res = await stack.call(c.method.toUpperCase(), c.path, c.method === 'get' ? undefined : body, b.apiKey);
    const what = `${c.method} ${c.path} → ${res.status}`;
    expect([what, res.status < 500]).toEqual([what, true]);
    expect([what, JSON.stringify(res.body ?? '').includes(secret)]).toEqual([what, false]);
    // A PUT upserts in B's own namespace (flow and run ids are per account): it may create, never touch A's.
    // B's own agent of A's agent's name (registered by the PUT above) polls B's queue: 204, nothing of A's.
    const allowed = c.method === 'put' ? [200, 201, 400, 403, 404, 422] : c.path.includes('/attempts/next') ? [204, 400, 403, 404, 422] : [400, 403, 404, 422];
    if (c.aimed) expect([what, allowed.includes(res.status)]).toEqual([what, true]);
  }
  // A's things are all still there.
  expect((await stack.call('GET', `/api/v1/runs/${runId}`, undefined, a.apiKey)).status).toBe(200);
  expect((await stack.call('GET', `/api/v1/apps/${ids.appId}`, undefined, a.apiKey)).status).toBe(200);
  expect((await stack.call('GET', '/api/v1/flows/a-flow', undefined, a.apiKey)).status).toBe(200);
});

// Client-chosen run ids are the account's own: the same id in two accounts names two runs, and
// neither account learns from any answer that the other uses it.
it('when another account PUTs or POSTs an action run under an id the first account holds, then it gets its own run and the first is untouched', async () => {
  const a = await stack.newAccount();
  const b = await stack.newAccount();
  const id = `shared-${Date.now()}`;
  const body = { flowId: 'f', flowType: 'automation', phase: 'succeeded', outputs: { owner: 'a' } };
  expect((await stack.call('PUT', `/api/v1/flow-runs/${id}`, body, a.apiKey)).status).toBeLessThan(300);
  const taken = await stack.call('PUT', `/api/v1/flow-runs/${id}`, { ...body, phase: 'failed', outputs: { owner: 'b' } }, b.apiKey);
  const free = await stack.call('PUT', `/api/v1/flow-runs/${id}-free`, body, b.apiKey);
  expect(taken.status).toBe(free.status);
  expect(taken.body).toMatchObject({ id, phase: 'failed', outputs: { owner: 'b' } });

  const seenByA = await stack.call('GET', `/api/v1/flow-runs/${id}`, undefined, a.apiKey);
  expect(seenByA.body).toMatchObject({ id, phase: 'succeeded', outputs: { owner: 'a' } });

  // A platform-executed run under a client-chosen id another account holds: created, not a conflict.
  await stack.call('POST', '/api/v1/flows', { id: 'chosen', name: 'chosen', type: 'automation', steps: [{ id: 't', type: 'transform', config: { expression: '1' } }] }, b.apiKey);
  const started = await stack.call('POST', '/api/v1/flow-runs', { id: `${id}-run`, flowId: 'chosen' }, b.apiKey);
  expect((await stack.call('PUT', `/api/v1/flow-runs/${id}-run`, body, a.apiKey)).status).toBe(free.status);
  const again = await stack.call('POST', '/api/v1/flow-runs', { id: `${id}-run`, flowId: 'chosen' }, b.apiKey);
  expect(started.status).toBeLessThan(300);
  expect(started.body).toMatchObject({ id: `${id}-run` });
  expect(again.status).toBe(409);
});
