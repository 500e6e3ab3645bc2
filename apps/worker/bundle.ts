import { DefaultLogger, type BundleOptions } from '@temporalio/worker';

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
