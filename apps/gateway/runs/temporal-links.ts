/**
 * Where a run lives in Temporal: its workflow id and its page in the Temporal UI
 * (FLOWRUNS_TEMPORAL_UI_URL), and, for the dashboard, each activity step's event in that page.
 */
import type { Client } from '@temporalio/client';
import { decodeOptionalSinglePayload, loadDataConverter } from '@temporalio/common/lib/internal-non-workflow';
import { temporal as proto } from '@temporalio/proto';
import type { Config } from '../../../platform/config';
import { dataConverterFor } from '../../../platform/payload-codec';
import { runWorkflowId } from '../../../workflows/definitions';

export interface TemporalLink {
  workflow_id: string;
  ui_url: string;
}

/** `<base>/namespaces/<ns>/workflows/<workflowId>` (the UI opens its latest execution), or one execution's history. */
export function workflowUiUrl(config: Pick<Config, 'temporalUiUrl' | 'namespace'>, workflowId: string, executionRunId?: string): string {
  const base = `${config.temporalUiUrl}/namespaces/${encodeURIComponent(config.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return executionRunId ? `${base}/${encodeURIComponent(executionRunId)}/history` : base;
}

/** The `temporal` field of a run's detail, from its internal id. */
export function temporalLink(config: Pick<Config, 'temporalUiUrl' | 'namespace'>, internalRunId: string): TemporalLink {
  const workflowId = runWorkflowId(internalRunId);
  return { workflow_id: workflowId, ui_url: workflowUiUrl(config, workflowId) };
}

const STEP_SUMMARY = /^step (\S+)/;
const { EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: SCHEDULED, EVENT_TYPE_MARKER_RECORDED: MARKER } = proto.api.enums.v1.EventType;

/**
 * Each activity step's place in the Temporal UI: step key → the URL of its `ActivityTaskScheduled`
 * event, or of its local activity's marker for a pure step such as `transform` (its summary names
 * the step, workflows/summaries.ts). Reads the run's whole history, so it
 * is for a page an operator opens, not for the API; empty when Temporal has no such workflow.
 */
export async function stepEventLinks(deps: { client: Client; config: Config }, internalRunId: string): Promise<Map<string, string>> {
  const links = new Map<string, string>();
  const workflowId = runWorkflowId(internalRunId);
  const handle = deps.client.workflow.getHandle(workflowId);
  let history, executionRunId: string;
  try {
    [history, { runId: executionRunId }] = await Promise.all([handle.fetchHistory(), handle.describe()]);
  } catch {
    return links;
  }
  const converter = loadDataConverter(dataConverterFor(deps.config.payloadKeys));
  for (const e of history.events ?? []) {
    if ((e.eventType !== SCHEDULED && e.eventType !== MARKER) || !e.userMetadata?.summary) continue;
    const summary = await decodeOptionalSinglePayload<string>(converter, e.userMetadata.summary).catch(() => undefined);
    const key = typeof summary === 'string' ? STEP_SUMMARY.exec(summary)?.[1] : undefined;
    if (key && !links.has(key)) links.set(key, `${workflowUiUrl(deps.config, workflowId, executionRunId)}/events/${String(e.eventId)}`);
  }
  return links;
}
