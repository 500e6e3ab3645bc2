/**
 * The step registry: every step type a flow may use. Adding a step type is one file in this
 * folder plus one line in `STEPS`; validation, the OpenAPI document, the workflow and the
 * activities all dispatch through this list.
 */
import { z } from 'zod';
import { approvalStep } from './approval';
import { browserStep } from './browser';
import { delayStep } from './delay';
import { flowStep } from './flow';
import { httpStep } from './http';
import { COMMON_NON_RETRYABLE, type ActivityStepType, type StepType, type WorkflowStepType } from './step-type';
import { scanStep } from './scan';
import { transformStep } from './transform';

export const STEPS = [httpStep, transformStep, delayStep, approvalStep, flowStep, browserStep, scanStep] as const;

export const STEP_ID_PATTERN = /^[A-Za-z0-9_-]+$/;

const retrySchema = z.strictObject({
  maxAttempts: z.number().int().min(1).max(100).optional(),
  initialIntervalMs: z.number().int().min(1).max(3_600_000).optional(),
  backoffCoefficient: z.number().min(1).max(100).optional(),
});

/** Fields every step has, whatever its type. */
const stepBase = {
  id: z.string().min(1).max(100).regex(STEP_ID_PATTERN, 'must match ^[A-Za-z0-9_-]+$'),
  name: z.string().min(1).max(200).optional(),
  dependsOn: z.array(z.string().min(1)).optional(),
  if: z.string().min(1).optional(),
  retry: retrySchema.optional(),
};

type StepObject<S extends StepType> = z.ZodObject<typeof stepBase & { type: z.ZodLiteral<S['type']>; config: S['config'] }>;
type StepObjects<T extends readonly StepType[]> = { -readonly [K in keyof T]: StepObject<T[K]> };

const stepObject = (s: StepType) => z.strictObject({ ...stepBase, type: z.literal(s.type), config: s.config });

const typeNames = STEPS.map((s) => s.type).join(', ');

/** A step of a flow definition: the base fields plus the config of its type. */
export const stepSchema = z.discriminatedUnion('type', STEPS.map(stepObject) as unknown as StepObjects<typeof STEPS>, {
  error: (issue) =>
    issue.code === 'invalid_union'
      ? `unknown step type: expected one of ${typeNames}`
      : undefined,
});

export type StepDefinition = z.output<typeof stepSchema>;
export type StepTypeName = StepDefinition['type'];
export type RetrySpec = z.output<typeof retrySchema>;

const byType = new Map<string, StepType>(STEPS.map((s) => [s.type, s]));

/** The registered type of a step, or undefined for a type this engine does not know. */
export const stepType = (type: string): StepType | undefined => byType.get(type);

/** Error types that fail a step of this type at once. */
export const nonRetryableErrors = (s: StepType): string[] => [...COMMON_NON_RETRYABLE, ...s.nonRetryable];

export type { ActivityStepType, StepType, WorkflowStepType };
