/**
 * The CLI package's API types (apps/cli/src/generated/api-types.ts) are the gateway's zod schemas
 * expanded, so the package carries them without the gateway. `npm run lint` (tsc) fails here when
 * they drift: run `npm run cli:types` to regenerate them.
 */
import type { z } from 'zod';
import type { flowInputSchema } from '../../domain/flow-definition';
import type { suiteInput } from '../../apps/gateway/definitions/suites/routes';
import type { scheduleInputSchema, scheduleSchema } from '../../apps/gateway/schedules/use-cases';
import type { runFlowsBody } from '../../apps/gateway/surfaces/ci-batches/routes';
import type { batchStatusSchema, runDetailSchema, triggeredBatchSchema } from '../../apps/gateway/surfaces/ci-batches/views';
import type { flowSchema } from '../../apps/gateway/definitions/flows/use-cases';
import type { suiteSchema } from '../../apps/gateway/definitions/suites/use-cases';
import type { rerunSchema } from '../../apps/gateway/runs/rerun';
import type { actionRunPageSchema } from '../../apps/gateway/surfaces/flow-runs/views';
import type * as Api from '../../apps/cli/src/generated/api-types';

type Mutual<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type DeepRequired<T> = T extends readonly (infer E)[] ? DeepRequired<E>[] : T extends object ? { [K in keyof T]-?: DeepRequired<T[K]> } : T;
/** true when each is assignable to the other, also with every field required (so an added optional field counts). */
type Same<A, B> = Mutual<A, B> extends true ? Mutual<DeepRequired<A>, DeepRequired<B>> : false;

// Each entry must be `true`; a `false` means the schema changed: npm run cli:types.
export const fresh: [
  Same<Api.FlowInput, z.input<typeof flowInputSchema>>,
  Same<Api.SuiteInput, z.input<typeof suiteInput>>,
  Same<Api.ScheduleInput, z.input<typeof scheduleInputSchema>>,
  Same<Api.TriggerBody, z.input<typeof runFlowsBody>>,
  Same<Api.TriggeredBatch, z.output<typeof triggeredBatchSchema>>,
  Same<Api.BatchStatus, z.output<typeof batchStatusSchema>>,
  Same<Api.RunDetail, z.output<typeof runDetailSchema>>,
  Same<Api.Flow, z.output<typeof flowSchema>>,
  Same<Api.Suite, z.output<typeof suiteSchema>>,
  Same<Api.Schedule, z.output<typeof scheduleSchema>>,
  Same<Api.Rerun, z.output<typeof rerunSchema>>,
  Same<Api.RunPage, z.output<typeof actionRunPageSchema>>,
] = [true, true, true, true, true, true, true, true, true, true, true, true];

it('the CLI package API types match the gateway schemas (checked by tsc: npm run lint)', () => {
  expect(fresh.every(Boolean)).toBe(true);
});
