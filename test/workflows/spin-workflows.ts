/** Workflows of the deadlock-check test (test/workflow-threads.test.ts): one that ends, one that never yields. */
export async function answers(): Promise<string> {
  return 'answered';
}

export async function neverYields(): Promise<void> {
  // Workflow time stands still inside an activation: this loop only ends when the thread is stopped.
  const start = Date.now();
  while (Date.now() === start);
}
