import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DefaultLogger, type BundleOptions, type WorkflowBundleWithSourceMap } from '@temporalio/worker';

/**
 * How the workflow code is bundled, here and in the tests that replay it. Workflows share one V8
 * context, but each loads the modules it imports for itself: zod and the step registry (the step
 * types' config schemas) would be built again for every workflow the worker starts, costing CPU and
 * memory per run. They hold no per-workflow state and use no workflow API when they load, so they
 * are loaded once, when the context is created, and shared (`preloadModules`).
 */
export const workflowBundleOptions = (workflowsPath = require.resolve('../../workflows')): BundleOptions => ({
  workflowsPath,
  preloadModules: ['zod', require.resolve('../../steps')],
  logger: new DefaultLogger('WARN'),
});

const BUNDLER_SOURCE = `
const fs = require('node:fs');
const { bundleWorkflowCode, DefaultLogger } = require(process.env.FLOWRUNS_TEMPORAL_WORKER);
const { out, ...options } = JSON.parse(process.env.FLOWRUNS_BUNDLE_OPTIONS);
bundleWorkflowCode({ ...options, logger: new DefaultLogger('WARN') })
  .then((b) => fs.writeFileSync(out, JSON.stringify(b)))
  .catch((err) => { console.error(err && err.stack || String(err)); process.exit(1); });
`;

/**
 * The workflow bundle, built by webpack in a child process: webpack's hundred-odd megabytes are
 * given back when the child exits, where in the worker's own heap they would stay for its life.
 */
export async function bundleInChildProcess(workflowsPath?: string): Promise<WorkflowBundleWithSourceMap> {
  const { logger: _logger, ...options } = workflowBundleOptions(workflowsPath);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowruns-bundle-'));
  const out = path.join(dir, 'bundle.json');
  try {
    const child = spawn(process.execPath, ['-e', BUNDLER_SOURCE], {
      stdio: ['ignore', 'inherit', 'pipe'],
      env: { ...process.env, FLOWRUNS_TEMPORAL_WORKER: require.resolve('@temporalio/worker'), FLOWRUNS_BUNDLE_OPTIONS: JSON.stringify({ ...options, out }) },
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', resolve);
    });
    if (code !== 0) throw new Error(`bundling the workflow code failed (exit ${code}):\n${stderr}`);
    return JSON.parse(fs.readFileSync(out, 'utf8')) as WorkflowBundleWithSourceMap;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
