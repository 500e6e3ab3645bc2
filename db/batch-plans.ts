/**
 * What the workflows of a large batch (domain/batch-plan.ts) read back: the ids of a chunk's runs,
 * written with the batch, and a run's flow definitions at the versions it was triggered with.
 */
import type { DataSource } from 'typeorm';
import type { FlowDefinition, FlowRunInput, FlowRunRef } from '../domain/flow-types';

/** Ids of the runs at positions [from, to) of a batch, in position order. */
export async function batchRunIds(db: DataSource, batchId: string, from: number, to: number): Promise<{ runId: string; publicId: string }[]> {
  const rows: { id: string; public_id: string }[] = await db.query(
    `SELECT id, public_id FROM runs WHERE batch_id = $1 AND position >= $2 AND position < $3 ORDER BY position`,
    [batchId, from, to],
  );
  return rows.map((r) => ({ runId: r.id, publicId: r.public_id }));
}

/** The whole input of a run given by reference; null when a version it names is gone. */
export async function runInputOf(db: DataSource, ref: FlowRunRef): Promise<FlowRunInput | null> {
  const wanted = [ref.flowRef, ...(ref.authFlowRef ? [ref.authFlowRef] : [])];
  const rows: { flow_id: string; version: number; definition: FlowDefinition }[] = await db.query(
    `SELECT flow_id, version, definition FROM flow_versions
      WHERE account_id = $1 AND (flow_id, version) IN (SELECT * FROM unnest($2::text[], $3::int[]))`,
    [ref.accountId, wanted.map((w) => w.id), wanted.map((w) => w.version)],
  );
  const definition = (w: { id: string; version: number }) => rows.find((r) => r.flow_id === w.id && r.version === w.version)?.definition;
  const flow = definition(ref.flowRef);
  const authFlow = ref.authFlowRef ? definition(ref.authFlowRef) : undefined;
  if (!flow || (ref.authFlowRef && !authFlow)) return null;
  const { flowRef: _f, authFlowRef: _a, endOnFail, ...rest } = ref;
  return {
    ...rest,
    flow: endOnFail === undefined ? flow : { ...flow, configs: { ...flow.configs, endOnFail } },
    ...(authFlow ? { authFlow } : {}),
  };
}
