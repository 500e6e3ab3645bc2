/**
 * History ⇄ JSON in the form `historyToJSON` / `temporal workflow show --output json` use
 * (proto3 JSON: `EVENT_TYPE_…` enum names, int64 as strings, payload data as base64).
 *
 * Why not `historyToJSON` / `historyFromJSON` of @temporalio/common: in this install npm could not
 * hoist protobufjs 8 (grpc's proto-loader holds the root with protobufjs 7), so @temporalio/common
 * and @temporalio/proto each got their own copy, and common's `protojson` rejects the message types
 * of proto's copy ("TypeError: type must be a Type"). The same happens inside
 * `Worker.runReplayHistories` when it is handed JSON, so the replay test hands it decoded histories.
 * Here `protojson` is loaded from the protobufjs copy that @temporalio/proto itself resolves, which
 * matches its types whether or not npm deduplicates.
 */
import { createRequire } from 'node:module';
import fs from 'node:fs';
import * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';

export type History = proto.temporal.api.history.v1.IHistory;

interface ProtoJson {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown, options?: { ignoreUnknownFields?: boolean }): unknown;
}

const requireFromProto = createRequire(require.resolve('@temporalio/proto'));
const protojson = requireFromProto('protobufjs/ext/protojson') as ProtoJson;
const historyType = (patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown }).lookupType('temporal.api.history.v1.History');

/** A history as pretty-printed proto3 JSON. */
export function historyToJSON(history: History): string {
  const message = proto.temporal.api.history.v1.History.fromObject(history as Record<string, unknown>);
  return JSON.stringify(protojson.toJson(historyType, message), null, 2);
}

/** A proto3 JSON history (as written by `historyToJSON`) decoded for `Worker.runReplayHistories`. */
export function historyFromJSON(json: unknown): History {
  if (typeof json !== 'object' || json === null || !Array.isArray((json as { events?: unknown }).events))
    throw new TypeError('not a history: expected an object with an array of events');
  const history = protojson.fromJson(historyType, json, { ignoreUnknownFields: true }) as History | null;
  if (!history) throw new TypeError('not a history');
  return history;
}

export const readHistory = (file: string): History => historyFromJSON(JSON.parse(fs.readFileSync(file, 'utf8')));

/** The `WorkflowExecutionStarted` workflow type of a history (`flowRun`, `batchRun`). */
export function workflowTypeOf(history: History): string {
  return history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? 'unknown';
}
