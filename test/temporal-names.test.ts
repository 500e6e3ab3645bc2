/**
 * Temporal names our things (SPEC §10 "Temporal"): a run's workflow read with the Temporal client
 * has a static summary naming its flow and run, each step's activity a summary naming the step,
 * and the search attributes AppId, ScheduleId and Tags; `temporal workflow list --query` finds it
 * by AppId; the run's detail gives its workflow id and Temporal UI link.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { temporal as proto } from '@temporalio/proto';
import { decodeOptionalSinglePayload, loadDataConverter } from '@temporalio/common/lib/internal-non-workflow';
import { dataConverterFor } from '../platform/payload-codec';
import { APP_ID, BATCH_ID, SCHEDULE_ID, TAGS } from '../workflows/search-attributes';
import { runDetailWhenEnded, until, withStack } from './harness';

const exec = promisify(execFile);

const stack = withStack({ workers: true, stub: () => ({ body: { ok: true } }), app: 'shop' });

test('when a run ends, then its workflow carries its summaries and search attributes, the CLI finds it by AppId, and its detail links to it', async () => {
  const flowId = `named-${Date.now().toString(36)}`;
  const created = await stack.call(
    'POST',
    '/api/v1/flows',
    {
      id: flowId,
      name: 'Checkout journey',
      steps: [
        { id: 'fetch', name: 'Fetch orders', type: 'http', config: { url: `${stack.stub.url}/orders` } },
        { id: 'shape', type: 'transform', dependsOn: ['fetch'], config: { expression: "'ok'" } },
      ],
    },
    stack.key,
  );
  expect(created.status).toBe(201);
  const trigger = await stack.call('POST', '/api/v1/flows/run', { flow_ids: [flowId], app_id: stack.appId, tags: [{ key: 'env', value: 'ci' }] }, stack.key);
  expect(trigger.status).toBe(200);
  const runId: string = trigger.body.runs[0].id;
  expect(runId).toBeTruthy();
  const detail = await runDetailWhenEnded(stack, runId, stack.key, 60_000);
  expect(detail.status).toBe('succeeded');

  // The run detail's link.
  const workflowId = `run-${runId}`;
  expect(detail.temporal).toEqual({
    workflow_id: workflowId,
    ui_url: `${stack.config.temporalUiUrl}/namespaces/${stack.config.namespace}/workflows/${workflowId}`,
  });

  // The workflow, read with the Temporal client.
  const handle = stack.client.workflow.getHandle(workflowId);
  const described = await handle.describe();
  expect(await described.staticSummary()).toBe(`flow "Checkout journey" (${flowId}) · run ${runId}`);
  // Stored in clear (not sealed by the payload codec), so the Temporal UI and CLI show it as it is.
  const encodingOf = (p: { metadata?: Record<string, Uint8Array> | null } | null | undefined) => Buffer.from(p?.metadata?.encoding ?? []).toString();
  expect(encodingOf(described.raw.executionConfig?.userMetadata?.summary)).toBe('json/plain');
  expect(described.typedSearchAttributes.get(APP_ID)).toBe(stack.appId);
  expect(described.typedSearchAttributes.get(TAGS)).toEqual(['env:ci']);
  expect(described.typedSearchAttributes.get(BATCH_ID)).toBe(detail.batch_id);
  expect(described.typedSearchAttributes.get(SCHEDULE_ID)).toBeUndefined();

  // Each step's activity, from the history: the http step's scheduled activity, the transform's local activity marker.
  const converter = loadDataConverter(dataConverterFor(stack.config.payloadKeys));
  const history = await handle.fetchHistory();
  const { EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: SCHEDULED, EVENT_TYPE_MARKER_RECORDED: MARKER } = proto.api.enums.v1.EventType;
  const steps = (history.events ?? []).filter((e) => (e.eventType === SCHEDULED || e.eventType === MARKER) && e.userMetadata?.summary);
  const summaries = await Promise.all(steps.map((e) => decodeOptionalSinglePayload<string>(converter, e.userMetadata?.summary)));
  expect(summaries).toEqual(['step fetch "Fetch orders" (http)', 'step shape (transform)']);
  expect(steps.map((e) => e.eventType)).toEqual([SCHEDULED, MARKER]);
  expect(steps.map((e) => encodingOf(e.userMetadata?.summary))).toEqual(['json/plain', 'json/plain']);

  // The batch workflow too.
  const batch = await stack.client.workflow.getHandle(`batch-${detail.batch_id}`).describe();
  expect(await batch.staticSummary()).toBe(`batch ${detail.batch_id} · 1 run of ${flowId}`);
  expect(batch.typedSearchAttributes.get(APP_ID)).toBe(stack.appId);

  // The Temporal CLI finds it by AppId (visibility is eventually consistent).
  const listed = await until('the CLI to list the run by AppId', async () => {
    const { stdout } = await exec(process.env.FLOWRUNS_TEST_TEMPORAL_BINARY!, [
      'workflow', 'list', '--address', stack.config.temporalAddress, '--namespace', stack.config.namespace,
      '--query', `AppId="${stack.appId}" AND WorkflowType="flowRun"`, '--output', 'json',
    ]);
    const rows = stdout.trim() ? (JSON.parse(stdout) as { execution: { workflowId: string } }[]) : [];
    return rows.some((r) => r.execution.workflowId === workflowId) ? rows : undefined;
  });
  expect(listed.map((r) => r.execution.workflowId)).toEqual([workflowId]);
});
