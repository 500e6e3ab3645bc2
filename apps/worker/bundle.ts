import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DefaultLogger, type BundleOptions, type WorkflowBundleWithSourceMap } from '@temporalio/worker';

const DEVTOOL = 'inline-nosources-source-map';

/**
 * How the workflow code is bundled, here and in the tests that replay it. Workflows share one V8
 * context, but each loads the modules it imports for itself: zod and the step registry (the step
 * types' config schemas) would be built again for every workflow the worker starts, costing CPU and
 * memory per run. They hold no per-workflow state and use no workflow API when they load, so they
 * are loaded once, when the context is created, and shared (`preloadModules`).
 *
 * The source map stays inline, for stack traces, but without the sources' text (`DEVTOOL`), which
 * nothing reads (the SDK shows sources only with `showStackTraceSources`) and which the worker and
 * its workflow thread would each hold, a few MB.
 */
export const workflowBundleOptions = (workflowsPath = require.resolve('../../workflows'), workflowInterceptorModules?: string[]): BundleOptions => ({
  workflowsPath,
  // Tracing's workflow interceptors (platform/tracing.ts), only when it is on.
  ...(workflowInterceptorModules?.length ? { workflowInterceptorModules } : {}),
  preloadModules: ['zod', require.resolve('../../steps')],
  logger: new DefaultLogger('WARN'),
  webpackConfigHook: (config) => ({ ...config, devtool: DEVTOOL }),
});

/**
 * The code with every character above U+00FF written as a `\uXXXX` escape (a few dashes and
 * arrows in comments and messages): V8 keeps a string with any such character at two bytes a
 * character, and the bundle (3 MB with its inline source map) is held by the worker and by its
 * workflow thread. In string, template and regular-expression literals and in identifiers the
 * escape means the same character (only a template's `String.raw` would see it); in a comment it
 * changes nothing. On the few lines that hold one, a stack trace's column past it is off by five.
 */
export const latin1Only = (code: string): string =>
  code.replace(/[\u0100-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

const BUNDLER_SOURCE = `
const fs = require('node:fs');
const { bundleWorkflowCode, DefaultLogger } = require(process.env.FLOWRUNS_TEMPORAL_WORKER);
const { out, devtool, ...options } = JSON.parse(process.env.FLOWRUNS_BUNDLE_OPTIONS);
bundleWorkflowCode({ ...options, webpackConfigHook: (config) => ({ ...config, devtool }), logger: new DefaultLogger('WARN') })
  .then((b) => fs.writeFileSync(out, JSON.stringify(b)))
  .catch((err) => { console.error(err && err.stack || String(err)); process.exit(1); });
`;

/**
 * The workflow bundle, built by webpack in a child process: webpack's hundred-odd megabytes are
 * given back when the child exits, where in the worker's own heap they would stay for its life.
 */
export async function bundleInChildProcess(workflowsPath?: string, workflowInterceptorModules?: string[]): Promise<WorkflowBundleWithSourceMap> {
  const { logger: _logger, webpackConfigHook: _hook, ...options } = workflowBundleOptions(workflowsPath, workflowInterceptorModules);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowruns-bundle-'));
  const out = path.join(dir, 'bundle.json');
  try {
    const child = spawn(process.execPath, ['-e', BUNDLER_SOURCE], {
      stdio: ['ignore', 'inherit', 'pipe'],
      env: { ...process.env, FLOWRUNS_TEMPORAL_WORKER: require.resolve('@temporalio/worker'), FLOWRUNS_BUNDLE_OPTIONS: JSON.stringify({ ...options, devtool: DEVTOOL, out }) },
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', resolve);
    });
    if (code !== 0) throw new Error(`bundling the workflow code failed (exit ${code}):\n${stderr}`);
    const bundle = JSON.parse(fs.readFileSync(out, 'utf8')) as WorkflowBundleWithSourceMap;
    return { ...bundle, code: latin1Only(bundle.code) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
