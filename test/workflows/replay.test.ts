/**
 * Replays every history recorded under test/histories (real runs on the real stack, recorded by
 * test/histories/record.ts) against the current workflow code: a change to workflows/ that would
 * break the runs in flight when it is deployed fails here with a nondeterminism error.
 *
 * REPLAY_WORKFLOWS_PATH replays against another workflows entry point instead, e.g. a candidate
 * change kept outside the tree.
 */
import fs from 'node:fs';
import path from 'node:path';
import { workflowBundleOptions } from '../../apps/worker/bundle';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { readHistory, workflowTypeOf } from '../histories/history-json';
import { installTestRuntime } from './helpers';
import { dataConverterFor } from '../../platform/payload-codec';

const HISTORIES = path.resolve(__dirname, '../histories');
const files = fs
  .readdirSync(HISTORIES)
  .filter((f) => f.endsWith('.json'))
  .sort();
const workflowsPath = process.env.REPLAY_WORKFLOWS_PATH ? path.resolve(process.env.REPLAY_WORKFLOWS_PATH) : require.resolve('../../workflows');

let workflowBundle: WorkflowBundleWithSourceMap;
/**
 * The workers' codec chain without payload keys (the recorder runs without them): a history recorded
 * since payloads are compressed holds `binary/zlib` payloads, older ones plain JSON; both decode.
 */
const REPLAY_CONVERTER = dataConverterFor(undefined);

// Replay workers log every state change at INFO; only what goes wrong is worth reading here.
installTestRuntime();

beforeAll(async () => {
  workflowBundle = await bundleWorkflowCode(workflowBundleOptions(workflowsPath));
}, 60_000);

describe('replaying the recorded histories', () => {
  it('when the histories are listed, then there are flow-run, batch-run and batch-chunk histories to replay', () => {
    const types = new Set(files.map((f) => workflowTypeOf(readHistory(path.join(HISTORIES, f)))));
    expect([...types].sort()).toEqual(['batchChunk', 'batchRun', 'flowRun']);
  });

  it.each(files)('when %s is replayed against the current workflows, then it replays without a nondeterminism error', async (file) => {
    const history = readHistory(path.join(HISTORIES, file));
    await Worker.runReplayHistory({ workflowBundle, replayName: file, dataConverter: REPLAY_CONVERTER }, history, file.replace(/\.json$/, ''));
  });
});
