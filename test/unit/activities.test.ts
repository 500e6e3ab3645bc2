/**
 * Activities run in `MockActivityEnvironment` against fakes of their dependencies: a data source
 * that records each statement it is given (no Postgres), a fixed clock, and a loopback stub as the
 * only server reached (no Temporal either). What is pinned: what `executeStep` returns to the
 * workflow (the output unmasked, for later steps) and what it writes (masked), how a failed attempt
 * is reported, and a webhook delivery signed as Standard Webhooks with the account's secret.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { DefaultLogger } from '@temporalio/worker';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Webhook } from 'standardwebhooks';
import type { DataSource } from 'typeorm';
import { createActivities, type StepCall } from '../../activities';
import { ExpressionEvaluator } from '../../activities/expressions';
import { createWebhookActivities } from '../../activities/webhooks';
import { workerLog } from '../../platform/log';
import { MASK } from '../../domain/secrets';
import type { ExpressionScope, StepDefinition } from '../../domain/flow-types';
import { startStub, type Stub } from '../stub-server';

interface Statement {
  sql: string;
  params: unknown[];
}

/**
 * A data source that answers the few reads the activities make and records every statement:
 * raw SQL as given, and query-builder inserts as `INSERT INTO <table>` with their rows.
 */
function fakeDataSource(answer: (sql: string, params: unknown[]) => unknown = () => []): DataSource & { statements: Statement[] } {
  const statements: Statement[] = [];
  const queryBuilder = () => {
    let table = '?';
    let rows: unknown[] = [];
    const qb = {
      insert: () => qb,
      into: (entity: { name?: string } | string) => ((table = typeof entity === 'string' ? entity : (entity.name ?? '?')), qb),
      values: (v: unknown) => ((rows = Array.isArray(v) ? v : [v]), qb),
      orIgnore: () => qb,
      orUpdate: () => qb,
      updateEntity: () => qb,
      execute: async () => {
        statements.push({ sql: `INSERT INTO ${table}`, params: rows });
        return { identifiers: [], generatedMaps: [], raw: [] };
      },
    };
    return qb;
  };
  const ds = {
    statements,
    query: async (sql: string, params: unknown[] = []) => {
      statements.push({ sql, params });
      return answer(sql, params);
    },
    createQueryBuilder: queryBuilder,
    get manager() {
      return ds;
    },
    transaction: async () => {
      throw new Error('the fake data source has no transactions');
    },
  };
  return ds as unknown as DataSource & { statements: Statement[] };
}

const quiet = { logger: new DefaultLogger('ERROR') };
const NOW = new Date('2026-03-04T05:06:07.000Z');
const TOKEN = 'tok_live_5f3a9c';

const scope = (vars: Record<string, string> = {}): ExpressionScope => ({
  trigger: { body: { n: 2 } },
  vars: { TOKEN, ...vars },
  steps: { first: { status: 'succeeded', output: { items: [1, 2, 3] } } },
  auth: {},
  run: { id: 'public-run-1', batchId: 'batch-1', flowId: 'checkout' },
});

const call = (step: StepDefinition, vars?: Record<string, string>): StepCall => ({
  runId: 'run-1',
  key: step.id,
  position: 1,
  step,
  scope: scope(vars),
  secrets: ['TOKEN'],
});

let stub: Stub;
let evaluator: ExpressionEvaluator;
beforeAll(async () => {
  stub = await startStub();
  evaluator = new ExpressionEvaluator();
});
afterAll(async () => {
  await evaluator.close();
  await stub.close();
});

const activitiesOn = (ds: DataSource) => createActivities({ dataSource: ds, fetch: globalThis.fetch, clock: () => NOW, expressions: evaluator });

/** Every parameter of every statement, as one text: where a secret would show if it were written in clear. */
const written = (ds: { statements: Statement[] }) => JSON.stringify(ds.statements.map((s) => s.params));

describe('executeStep', () => {
  it('when a transform step runs, then the workflow gets its output whole and the record of it has the secret masked', async () => {
    const ds = fakeDataSource((sql) => (sql.includes('FROM runs WHERE id') ? [{ account_id: 'acct-1', flow_id: 'f', public_id: 'run-1', browser: null }] : []));
    const step = { id: 'sum', type: 'transform', config: { expression: '{ "total": $sum(steps.first.output.items), "auth": "Bearer " & vars.TOKEN }' } } as StepDefinition;

    const outcome = await new MockActivityEnvironment({ attempt: 1 }, quiet).run(activitiesOn(ds).executeStep, call(step));

    expect(outcome).toEqual({
      skipped: false,
      output: { total: 6, auth: `Bearer ${TOKEN}` },
      attempts: 1,
      startedAt: NOW.toISOString(),
      finishedAt: NOW.toISOString(),
      durationMs: 0,
    });
    // The expression took the run's account's turn, read once from its row.
    expect(ds.statements.filter((s) => s.sql.includes('FROM runs WHERE id'))).toEqual([{ sql: expect.any(String), params: ['run-1'] }]);
    // Its start and end written once each: in one statement when it ended within the held-back start
    // (200 ms), else the start first (a loaded machine can take longer); the output masked either way.
    const writes = ds.statements.filter((s) => !s.sql.includes('FROM runs WHERE id'));
    expect(writes.length).toBeGreaterThanOrEqual(1);
    expect(writes.length).toBeLessThanOrEqual(2);
    expect(written(ds).split('step sum started (attempt 1)')).toHaveLength(2);
    expect(written(ds).split('step sum succeeded')).toHaveLength(2);
    expect(written(ds)).toContain(`Bearer ${MASK}`);
    expect(written(ds)).toContain('step sum started (attempt 1)');
    expect(written(ds)).toContain('step sum succeeded');
    expect(written(ds)).not.toContain(TOKEN);
  });

  it('when a step’s if is false, then it is skipped and nothing is written', async () => {
    const ds = fakeDataSource();
    const step = { id: 'never', type: 'transform', if: 'trigger.body.n > 5', config: { expression: '1' } } as StepDefinition;

    await expect(new MockActivityEnvironment({}, quiet).run(activitiesOn(ds).executeStep, call(step))).resolves.toEqual({ skipped: true });
    expect(ds.statements.filter((s) => !s.sql.includes('FROM runs WHERE id'))).toEqual([]);
  });

  it('when an http step calls the stub, then its request is recorded with the secret in its URL masked', async () => {
    stub.setHandler(() => ({ body: { pong: true } }));
    const ds = fakeDataSource();
    const step = { id: 'ping', type: 'http', config: { url: `${stub.url}/ping?key=\${env:TOKEN}` } } as StepDefinition;

    const outcome = await new MockActivityEnvironment({ attempt: 2 }, quiet).run(activitiesOn(ds).executeStep, call(step));

    expect(outcome).toMatchObject({ skipped: false, attempts: 2, output: { status: 200, body: { pong: true } } });
    expect(stub.requests.at(-1)?.url).toBe(`/ping?key=${TOKEN}`);
    expect(written(ds)).toContain(`/ping?key=${MASK}`);
    expect(written(ds)).not.toContain(TOKEN);
  });

  it('when an expression fails, then the workflow gets its failure, not to be retried, with the attempt and its start, and the failure is recorded and logged masked', async () => {
    const ds = fakeDataSource();
    const step = { id: 'boom', type: 'transform', config: { expression: '$error("refused for " & vars.TOKEN)' } } as StepDefinition;

    let logged = '';
    const warned = jest.spyOn(workerLog, 'warn').mockImplementation(() => undefined);
    const failure = await new MockActivityEnvironment({ attempt: 3 }, quiet)
      .run(activitiesOn(ds).executeStep, call(step))
      .then(() => undefined, (err: unknown) => err as ApplicationFailure)
      .finally(() => {
        logged = JSON.stringify(warned.mock.calls);
        warned.mockRestore();
      });

    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'ExpressionError', nonRetryable: true });
    expect(failure?.message).toContain(`refused for ${MASK}`);
    expect(failure?.details).toEqual([{ attempts: 3, startedAt: NOW.toISOString() }]);
    expect(written(ds)).toContain('step boom attempt 3 failed');
    expect(written(ds)).not.toContain(TOKEN);
    expect(logged).toContain(`refused for ${MASK}`);
    expect(logged).not.toContain(TOKEN);
  });
});

describe('deliverWebhook', () => {
  const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
  const accounts = (sql: string) => (sql.startsWith('UPDATE accounts SET webhook_secret = COALESCE') ? [[{ webhook_secret: secret }], 1] : []);
  const delivery = () => ({
    accountId: 'acct-1',
    url: `${stub.url}/hook`,
    id: 'msg_delivery_1',
    logRunId: 'run-1',
    event: { event: 'run.finished', batch_id: 'batch-1', run_id: 'public-run-1', status: 'succeeded' } as never,
  });

  it('when the receiver answers 2xx, then it got a body its secret verifies, with the delivery id and links, and the delivery is logged', async () => {
    stub.setHandler(() => ({ status: 204 }));
    const ds = fakeDataSource(accounts);
    const { deliverWebhook } = createWebhookActivities({ dataSource: ds, fetch: globalThis.fetch, publicUrl: 'https://flowruns.example' });

    await new MockActivityEnvironment({ attempt: 1 }, quiet).run(deliverWebhook, delivery());

    const req = stub.requests.at(-1)!;
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
    const verified = new Webhook(secret).verify(JSON.stringify(req.body), headers) as Record<string, unknown>;
    expect(headers['webhook-id']).toBe('msg_delivery_1');
    expect(verified).toMatchObject({
      event: 'run.finished',
      links: {
        batch: 'https://flowruns.example/ui/batches/batch-1',
        batch_api: 'https://flowruns.example/api/v1/runs/status?batch_id=batch-1',
        run: 'https://flowruns.example/ui/runs/public-run-1',
        run_api: 'https://flowruns.example/api/v1/runs/public-run-1',
      },
    });
    expect(written(ds)).toContain('delivered (HTTP 204, attempt 1)');
  });

  it('when the receiver answers 500, then the attempt fails retryable and the log says it will be retried', async () => {
    stub.setHandler(() => ({ status: 500 }));
    const ds = fakeDataSource(accounts);
    const { deliverWebhook } = createWebhookActivities({ dataSource: ds, fetch: globalThis.fetch, publicUrl: 'https://flowruns.example' });

    const failure = await new MockActivityEnvironment({ attempt: 1 }, quiet)
      .run(deliverWebhook, delivery())
      .then(() => undefined, (err: unknown) => err as ApplicationFailure);

    expect(failure).toMatchObject({ type: 'WebhookFailed', nonRetryable: false });
    expect(written(ds)).toMatch(/attempt 1 of \d+ failed \(HTTP 500\); retrying/);
    stub.setHandler(() => ({ body: { ok: true } }));
  });
});
