/**
 * `@flowruns/cli` as a library: `defineFlow()` (and `defineSuite()`, `defineSchedule()`) for
 * `.flow.ts` files, typed from the same zod schemas the API validates with, and the typed client.
 */
import type { FlowInput, ScheduleInput, SuiteInput } from './generated/api-types';

export type { FlowInput, ScheduleInput, SuiteInput };
export * from './client';

const KIND = Symbol.for('flowruns.kind');

/**
 * A flow definition as a `.flow.ts` file default-exports it; the value is the flow itself (JSON as
 * the API takes it). Not generic on purpose: an object literal gets excess-property checks, so a
 * typo such as `methd` is an error in the editor, as it is a 400 from the API.
 */
export function defineFlow(flow: FlowInput & { id: string }): FlowInput & { id: string } {
  return Object.defineProperty({ ...flow }, KIND, { value: 'flow', enumerable: false });
}

/** A suite for `flowruns flows apply` (its `flowIds` must name flows the account has or the same apply creates). */
export function defineSuite(suite: SuiteInput & { id: string }): SuiteInput & { id: string } {
  return Object.defineProperty({ ...suite }, KIND, { value: 'suite', enumerable: false });
}

/** A schedule for `flowruns flows apply` (created, or replaced when it changed). */
export function defineSchedule(schedule: ScheduleInput & { id: string }): ScheduleInput & { id: string } {
  return Object.defineProperty({ ...schedule }, KIND, { value: 'schedule', enumerable: false });
}
