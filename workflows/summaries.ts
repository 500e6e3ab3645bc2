/**
 * The one-line summaries Temporal shows for our workflows and activities (its UI's "Summary",
 * `temporal workflow describe`), so an operator tells them apart without decoding payloads:
 * a batch by its flows and size, a run by its flow and id, a step activity by its id, name and type.
 */
import { RawValue } from '@temporalio/common';
import { encode } from '@temporalio/common/lib/encoding';
import type { BatchRunInput, FlowRunInput, FlowRunRef, StepDefinition } from '../domain/flow-types';

/**
 * Metadata key of a payload the platform's codec leaves in clear (platform/payload-codec.ts): only
 * these summaries carry it, so the Temporal UI and CLI show them without the codec. They name
 * flows, runs and steps by id and name — what the FlowId and BatchId search attributes show already.
 * Short, as every run's summaries carry it five times (histories before 2026-12-07: `flowruns-plaintext`).
 */
export const PLAIN_TEXT_METADATA = 'fr-clear';

const MAX_CHARS = 200;

/**
 * The summary as a ready payload (a JSON string, as the SDK would make it, plus the plain-text
 * mark), for `staticSummary` and activity `summary` only: typed as the string those options take.
 */
export function plainSummary(s: string): string {
  const text = s.length > MAX_CHARS ? `${s.slice(0, MAX_CHARS - 1)}…` : s;
  const payload = { metadata: { encoding: encode('json/plain'), [PLAIN_TEXT_METADATA]: encode('1') }, data: encode(JSON.stringify(text)) };
  return RawValue.fromPayload(payload) as unknown as string;
}

/** `flow "Checkout" (checkout) · run 3f2c…`, or the flow's id alone for a run that loads its flow by reference. */
export function runSummary(run: FlowRunInput | FlowRunRef): string {
  const flow = 'flowRef' in run ? run.flowRef.id : run.flow.name && run.flow.name !== run.flow.id ? `"${run.flow.name}" (${run.flow.id})` : run.flow.id;
  return plainSummary(`flow ${flow} · run ${run.publicId ?? run.runId}`);
}

/** `batch 9a1e… · 3 runs of checkout, search` */
export function batchSummary(input: Pick<BatchRunInput, 'batchId' | 'runs' | 'plan'>): string {
  const total = input.plan && input.runs.length === 0 ? input.plan.total : input.runs.length;
  const flows = input.plan && input.runs.length === 0 ? input.plan.flows.map((f) => f.flowId) : [...new Set(input.runs.map((r) => r.flow.id))];
  return plainSummary(`batch ${input.batchId} · ${total} run${total === 1 ? '' : 's'} of ${flows.join(', ')}`);
}

/** `step login "Log in" (browser)` — the step's id in the run (`auth.` for its suite's auth flow), name if it has one, and type. */
export function stepSummary(key: string, step: Pick<StepDefinition, 'name' | 'type'>, agent?: string): string {
  return plainSummary(`step ${key}${step.name ? ` "${step.name}"` : ''} (${step.type})${agent ? ` on agent ${agent}` : ''}`);
}
