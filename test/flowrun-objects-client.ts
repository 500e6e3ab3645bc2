/**
 * FlowRun objects (the FlowRun-objects contract) as its client sees them: its example object and the shape check
 * against it, its Python `requests` calls translated to fetch, a tenant of its own with a site.
 * Shared by test/flowrun-objects.test.ts and test/flowrun-objects-list.test.ts.
 */
import { eventually, type StackFixture } from './harness';

/**
 * The seed's example FlowRun, its scan-specific node configs cut down to the one the platform
 * shares, and `request_type` null: only an http node has a method here.
 */
export const SEED_EXAMPLE = {
  id: 'c97021d2-dfd7-43ee-b9f5-136f49f3062d',
  user: 'dev@example.com',
  account: '8d4075a8-5ba0-48c9-9735-b989595edad5',
  flow: 'cc5a0ede-1aff-4eff-8040-9f4c0783f043',
  time_created: '2024-11-15T18:01:32.835728Z',
  title: 'Dual Step Flow',
  nodes: [
    {
      id: '1',
      data: {
        id: '1',
        uri: '',
        type: ['html', 'logs', 'lighthouse', 'yellowlab', 'vrt'],
        email: '',
        status: 'queued',
        case_id: null,
        configs: { end_on_fail: true },
        headers: '{}',
        message: '',
        objects: [],
        payload: '{}',
        subject: '',
        updates: null,
        maxConds: 4,
        maxNodes: 12,
        parentId: null,
        position: { x: 0, y: 0 },
        start_if: null,
        finalized: false,
        task_type: 'scan',
        threshold: 95,
        conditions: null,
        phone_number: '',
        request_type: null,
        time_started: null,
        time_completed: null,
      },
      type: 'basic',
      measured: { width: 272, height: 48 },
      parentId: null,
      position: { x: 0, y: 0 },
    },
  ],
  edges: [{ id: '1', type: 'smoothstep', style: null, source: '1', target: '2', animated: false }],
  status: 'working',
  time_completed: null,
  logs: [{ timestamp: '2024-11-15 18:01:32.833712', message: 'system starting up for run_id: c97021d2', step: '1' }],
  site: 'f4f6e6c1-037f-45e4-8cf4-2979f12d2cf0',
  configs: { end_on_fail: true },
};

/**
 * Every key of the seed's example is present with the same JSON type; a `null` in the example
 * admits any value (the seed shows a run not started yet), as does an empty array on either side.
 */
export function expectSeedShape(actual: unknown, example: unknown, at = '$'): void {
  if (example === null) return;
  if (Array.isArray(example)) {
    expect([at, Array.isArray(actual)]).toEqual([at, true]);
    const items = actual as unknown[];
    if (example.length > 0) for (const item of items) expectSeedShape(item, example[0], `${at}[]`);
    return;
  }
  if (typeof example === 'object') {
    expect([at, typeof actual, actual === null]).toEqual([at, 'object', false]);
    for (const [k, v] of Object.entries(example as Record<string, unknown>)) {
      expect([`${at}.${k}`, k in (actual as object)]).toEqual([`${at}.${k}`, true]);
      expectSeedShape((actual as Record<string, unknown>)[k], v, `${at}.${k}`);
    }
    return;
  }
  expect([at, typeof actual]).toEqual([at, typeof example]);
}

export interface Tenant {
  token: string;
  accountId: string;
  siteId: string;
  other: { token: string; siteId: string };
}

/** `requests.<method>(url, headers={"content-type": ..., "Authorization": TOKEN}, data=json.dumps(data))`. */
export async function seedRequest(method: string, url: string, token: string | null, data?: unknown) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== null) headers.Authorization = token;
  const res = await fetch(url, { method, headers, body: data === undefined ? undefined : JSON.stringify(data) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/** The helpers that reach the stack: a tenant of its own, its flows, FlowRuns started and awaited. */
export function flowRunClient(stack: StackFixture) {
  const api = () => `${stack.baseUrl}/v1/ops`;

  let seq = 0;
  async function tenant(): Promise<Tenant> {
    const account = await stack.newAccount();
    const key = await stack.call('POST', '/api/v1/api-keys', { name: 'dev@example.com' }, account.apiKey);
    expect(key.status).toBe(201);
    const site = await stack.call('POST', '/api/v1/apps', { name: 'site', platform: 'web', baseUrl: stack.stub.url }, key.body.apiKey);
    expect(site.status).toBe(201);
    const stranger = await stack.newAccount();
    const strangerSite = await stack.call('POST', '/api/v1/apps', { name: 'theirs', platform: 'web' }, stranger.apiKey);
    return { token: key.body.apiKey, accountId: account.accountId, siteId: site.body.id, other: { token: stranger.apiKey, siteId: strangerSite.body.id } };
  }

  async function createFlow(t: Tenant, def: Record<string, unknown>): Promise<string> {
    const id = `flow-${Date.now().toString(36)}-${seq++}`;
    const res = await stack.call('POST', '/api/v1/flows', { id, name: id, variables: { U: stack.stub.url }, ...def }, t.token);
    if (res.status !== 201) throw new Error(`create flow: ${res.status} ${JSON.stringify(res.body)}`);
    return id;
  }

  async function startFlowRun(t: Tenant, flowId: string, configs?: Record<string, unknown>, siteId = t.siteId) {
    const res = await seedRequest('POST', `${api()}/flowrun`, t.token, { site_id: siteId, flow_id: flowId, ...(configs ? { configs } : {}) });
    if (res.status !== 201) throw new Error(`create flowrun: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  async function waitFor(t: Tenant, id: string, ok: (run: any) => boolean, timeoutMs = 45_000): Promise<any> {
    const get = async () => {
      const res = await seedRequest('GET', `${api()}/flowrun/${id}`, t.token);
      expect(res.status).toBe(200);
      return res.body;
    };
    const run = await eventually(get, ok, timeoutMs);
    if (!ok(run)) throw new Error(`flowrun ${id} never got there: ${JSON.stringify(run)}`);
    return run;
  }

  return { api, tenant, createFlow, startFlowRun, waitFor };
}

export const isFinal = (run: any) => ['passed', 'failed', 'cancelled'].includes(run.status);
export const nodeById = (run: any) => Object.fromEntries(run.nodes.map((n: any) => [n.id, n]));
