/** Workflows of test/workflow-threads.test.ts: one that ends, one that waits, one that never yields. */
import { condition } from '@temporalio/workflow';

export async function answers(): Promise<string> {
  return 'answered';
}

export async function neverYields(): Promise<void> {
  // Workflow time stands still inside an activation: this loop only ends when the thread is stopped.
  const start = Date.now();
  while (Date.now() === start);
}

export async function waits(): Promise<void> {
  await condition(() => false, '1 minute');
}
