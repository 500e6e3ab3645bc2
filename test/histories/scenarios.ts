/**
 * The scenarios test/histories/record.ts records: each creates what it needs on the stack,
 * triggers a flow or a batch, and may act on it while it runs (approve, reject, cancel).
 */
import type { RunProgress } from '../../domain/flow-types';
import { runWorkflowId } from '../../workflows/definitions';
import type { Stack } from '../harness';
import type { Stub } from '../stub-server';

export interface Ctx {
  stack: Stack;
  stub: Stub;
  key: string;
  appId: string;
  flow(def: Record<string, unknown>): Promise<string>;
}

export interface Triggered {
  batchId: string;
  runIds: string[];
}

export interface Scenario {
  name: string;
  /** Creates what the scenario needs and triggers it. */
  trigger(ctx: Ctx): Promise<Triggered>;
  /** Acts on the running batch (approve, cancel) before it completes. */
  during?(ctx: Ctx, t: Triggered): Promise<void>;
  /** The batch history and its children's, rather than the one run's. */
  batch?: boolean;
}

const fastRetry = { maxAttempts: 3, initialIntervalMs: 100, backoffCoefficient: 1 };

async function triggerFlows(ctx: Ctx, body: Record<string, unknown>): Promise<Triggered> {
  const res = await ctx.stack.call('POST', '/api/v1/flows/run', { app_id: ctx.appId, source: 'ci', ...body }, ctx.key);
  if (res.status !== 200) throw new Error(`trigger answered ${res.status}: ${JSON.stringify(res.body)}`);
  return { batchId: res.body.batch_id, runIds: res.body.runs.map((r: { id: string }) => r.id) };
}

const oneFlow = (def: Record<string, unknown>, extra: Record<string, unknown> = {}) => async (ctx: Ctx) =>
  triggerFlows(ctx, { flow_ids: [await ctx.flow(def)], ...extra });

/** Polls the run's `progress` query until `ok` holds. */
async function waitForProgress(ctx: Ctx, runId: string, ok: (p: RunProgress) => boolean, timeoutMs = 30_000): Promise<RunProgress> {
  const handle = ctx.stack.client.workflow.getHandle(runWorkflowId(runId));
  const deadline = Date.now() + timeoutMs;
  let last: RunProgress | undefined;
  for (;;) {
    try {
      last = await handle.query<RunProgress>('progress');
      if (ok(last)) return last;
    } catch {
      // not started yet
    }
    if (Date.now() > deadline) throw new Error(`run ${runId} never reached the expected progress: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const decide = (verb: 'approve' | 'reject', stepId: string, comment: string) => async (ctx: Ctx, t: Triggered) => {
  await waitForProgress(ctx, t.runIds[0], (p) => p.status === 'waiting');
  const res = await ctx.stack.call('POST', `/api/v1/runs/${t.runIds[0]}/steps/${stepId}/${verb}`, { comment }, ctx.key);
  if (res.status !== 202) throw new Error(`${verb} answered ${res.status}: ${JSON.stringify(res.body)}`);
};

export const SCENARIOS: Scenario[] = [
  {
    name: 'flow-run-http-transform',
    trigger: (ctx) =>
      oneFlow(
        {
          variables: { U: ctx.stub.url },
          steps: [
            { id: 'orders', name: 'Query Orders', type: 'http', config: { url: '${env:U}/orders', expectStatus: [200] } },
            { id: 'report', type: 'transform', config: { expression: "{ 'count': $count(steps.orders.output.body), 'by': trigger.body.userId }" } },
            { id: 'notify', type: 'http', config: { method: 'POST', url: '${env:U}/slack', body: { text: 'Orders: {{steps.report.output.count}}' } } },
          ],
        },
        { data: { userId: 'user_123' } },
      )(ctx),
  },
  {
    name: 'flow-run-if-skip',
    trigger: oneFlow({
      steps: [
        { id: 'gate', type: 'transform', config: { expression: '1' } },
        { id: 'never', type: 'transform', if: 'steps.gate.output = 2', config: { expression: '"no"' } },
        { id: 'after-never', type: 'transform', dependsOn: ['never'], config: { expression: '"no"' } },
        { id: 'wait-never', type: 'delay', dependsOn: ['gate'], if: 'false', config: { durationMs: 60_000 } },
        { id: 'always', type: 'transform', dependsOn: ['gate', 'never'], config: { expression: '"ran"' } },
      ],
    }),
  },
  {
    name: 'flow-run-parallel-endonfail',
    trigger: (ctx) =>
      oneFlow({
        variables: { U: ctx.stub.url },
        configs: { endOnFail: true },
        steps: [
          { id: 'slow', type: 'http', dependsOn: [], config: { url: '${env:U}/slow' } },
          { id: 'bad', type: 'http', dependsOn: [], config: { url: '${env:U}/missing' } },
          { id: 'tick', type: 'delay', dependsOn: [], config: { durationMs: 60_000 } },
          { id: 'after', type: 'transform', dependsOn: ['slow', 'bad'], config: { expression: '1' } },
        ],
      })(ctx),
  },
  {
    name: 'flow-run-endonfail-false',
    trigger: (ctx) =>
      oneFlow({
        variables: { U: ctx.stub.url },
        configs: { endOnFail: false },
        steps: [
          { id: 'bad', type: 'http', dependsOn: [], config: { url: '${env:U}/missing' } },
          { id: 'after-bad', type: 'transform', dependsOn: ['bad'], config: { expression: '1' } },
          { id: 'good', type: 'delay', dependsOn: [], config: { durationMs: 200 } },
          { id: 'after-good', type: 'http', dependsOn: ['good'], config: { url: '${env:U}/fine' } },
        ],
      })(ctx),
  },
  {
    name: 'flow-run-retry',
    trigger: (ctx) =>
      oneFlow({
        variables: { U: ctx.stub.url },
        steps: [{ id: 'flaky', type: 'http', config: { url: '${env:U}/flaky' }, retry: fastRetry }],
      })(ctx),
  },
  {
    name: 'flow-run-delay',
    trigger: oneFlow({
      steps: [
        { id: 'pause', type: 'delay', config: { durationMs: 500 } },
        { id: 'done', type: 'transform', config: { expression: 'steps.pause.output.delayedMs' } },
      ],
    }),
  },
  {
    name: 'flow-run-timeout',
    trigger: oneFlow({
      configs: { timeoutMs: 500 },
      steps: [
        { id: 'long', type: 'delay', config: { durationMs: 60_000 } },
        { id: 'never', type: 'transform', config: { expression: '1' } },
      ],
    }),
  },
  {
    name: 'flow-run-cancelled',
    trigger: oneFlow({
      steps: [
        { id: 'sleep', type: 'delay', config: { durationMs: 60_000 } },
        { id: 'never', type: 'transform', config: { expression: '1' } },
      ],
    }),
    during: async (ctx, t) => {
      await waitForProgress(ctx, t.runIds[0], (p) => p.steps[0]?.status === 'running');
      const res = await ctx.stack.call('POST', `/api/v1/runs/${t.runIds[0]}/cancel`, undefined, ctx.key);
      if (res.status !== 202) throw new Error(`cancel answered ${res.status}: ${JSON.stringify(res.body)}`);
    },
  },
  {
    name: 'flow-run-approval',
    trigger: oneFlow({
      steps: [
        { id: 'review', type: 'approval', config: { message: 'ship it?' } },
        { id: 'after', type: 'transform', config: { expression: 'steps.review.output.approved' } },
      ],
    }),
    during: decide('approve', 'review', 'lgtm'),
  },
  {
    name: 'flow-run-approval-rejected',
    trigger: oneFlow({
      steps: [
        { id: 'review', type: 'approval', config: { message: 'ship it?', timeoutMs: 600_000 } },
        { id: 'after', type: 'transform', config: { expression: '1' } },
      ],
    }),
    during: decide('reject', 'review', 'not today'),
  },
  {
    name: 'flow-run-approval-timeout',
    trigger: oneFlow({
      steps: [
        { id: 'review', type: 'approval', config: { message: 'anyone?', timeoutMs: 500 } },
        { id: 'after', type: 'transform', config: { expression: '1' } },
      ],
    }),
  },
  {
    name: 'flow-run-suite-auth',
    trigger: async (ctx) => {
      const login = await ctx.flow({
        variables: { U: ctx.stub.url },
        steps: [{ id: 'login', type: 'http', config: { method: 'POST', url: '${env:U}/login', body: { user: '${env:USER}' } } }],
      });
      const call = await ctx.flow({
        variables: { U: ctx.stub.url },
        steps: [{ id: 'call', type: 'http', config: { url: '${env:U}/me', headers: { authorization: 'Bearer {{auth.login.output.body.token}}' } } }],
      });
      const suite = await ctx.stack.call('POST', '/api/v1/suites', { name: 'recorded', flowIds: [call], authFlowId: login, variables: { USER: 'ann' } }, ctx.key);
      if (suite.status !== 201) throw new Error(`suite answered ${suite.status}: ${JSON.stringify(suite.body)}`);
      return triggerFlows(ctx, { suite_ids: [suite.body.id] });
    },
  },
  {
    name: 'batch-run-3-children',
    batch: true,
    trigger: async (ctx) => {
      const ids: string[] = [];
      for (const n of [1, 2, 3])
        ids.push(await ctx.flow({ variables: { U: ctx.stub.url }, steps: [{ id: 'hit', type: 'http', config: { url: `\${env:U}/flow-${n}` } }] }));
      return triggerFlows(ctx, { flow_ids: ids, max_parallel: 2 });
    },
  },
  {
    // Over the recorder's inline threshold (RECORDER_BATCH_LIMITS): run from a plan in two chunks of two.
    name: 'batch-run-planned',
    batch: true,
    trigger: async (ctx) => {
      const ids: string[] = [];
      for (const n of [1, 2]) ids.push(await ctx.flow({ variables: { U: ctx.stub.url }, steps: [{ id: 'hit', type: 'http', config: { url: `\${env:U}/planned-${n}?v=\${env:V}` } }] }));
      return triggerFlows(ctx, { flow_ids: ids, matrix: { V: ['a', 'b'] }, max_parallel: 2 });
    },
  },
  {
    // Runs whose start and end are recorded by step activities where a step can (a straight run;
    // parallel roots, a delay and a last step skipped by its \`if\`), by local activities where none
    // can (a failed last step).
    name: 'batch-run-run-records',
    batch: true,
    trigger: async (ctx) => {
      const U = { U: ctx.stub.url };
      const ids = [
        await ctx.flow({
          variables: U,
          steps: [
            { id: 'orders', type: 'http', config: { url: '${env:U}/orders?in-steps' } },
            { id: 'count', type: 'transform', config: { expression: '$count(steps.orders.output.body)' } },
          ],
        }),
        await ctx.flow({
          variables: U,
          steps: [
            { id: 'a', type: 'http', dependsOn: [], config: { url: '${env:U}/a' } },
            { id: 'pause', type: 'delay', dependsOn: [], config: { durationMs: 50 } },
            { id: 'never', type: 'http', dependsOn: ['a', 'pause'], if: '1 = 2', config: { url: '${env:U}/never' } },
          ],
        }),
        await ctx.flow({
          variables: U,
          steps: [
            { id: 'orders', type: 'http', config: { url: '${env:U}/orders?then-fail' } },
            { id: 'broken', type: 'http', retry: { maxAttempts: 1 }, config: { url: '${env:U}/missing' } },
          ],
        }),
      ];
      return triggerFlows(ctx, { flow_ids: ids, max_parallel: 3 });
    },
  },
  {
    // Three runs at once over an account bound of two (RECORDER_BATCH_LIMITS): the three ask together,
    // two take their slots, the third asks again (its ask retried) and starts once one of them has ended.
    name: 'batch-run-run-slots',
    batch: true,
    trigger: async (ctx) => {
      const ids: string[] = [];
      for (const n of [1, 2, 3]) ids.push(await ctx.flow({ variables: { U: ctx.stub.url }, steps: [{ id: 'hit', type: 'http', config: { url: `\${env:U}/slow?n=${n}` } }] }));
      return triggerFlows(ctx, { flow_ids: ids, max_parallel: 3 });
    },
  },
];
