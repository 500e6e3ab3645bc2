/**
 * The bare-Temporal reference of P1 and P5: the same shape as a platform batch — a batch workflow
 * starting one child per run, each child three activities (GET the stub's items, count them with
 * JSONata, POST the count) — with nothing else: no gateway, no Postgres, no recording, no encryption.
 */
import { executeChild, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type * as activities from './activities';

const { fetchItems, countItems, postCount } = proxyActivities<typeof activities>({ startToCloseTimeout: '30 seconds' });

/** `runs` children, at most `maxParallel` at a time (as the platform's max_parallel). */
export async function bareBatch(runs: number, maxParallel: number, stubUrl: string): Promise<number> {
  const { workflowId } = workflowInfo();
  let next = 0;
  let total = 0;
  const lane = async (): Promise<void> => {
    while (next < runs) {
      const i = next++;
      const count = await executeChild(bareRun, { workflowId: `${workflowId}-run-${i}`, args: [stubUrl] });
      total += count;
    }
  };
  await Promise.all(Array.from({ length: Math.min(maxParallel, runs) }, lane));
  return total;
}

export async function bareRun(stubUrl: string): Promise<number> {
  const items = await fetchItems(`${stubUrl}/items`);
  const count = await countItems(items);
  await postCount(`${stubUrl}/count`, count);
  return count;
}
