/**
 * The flow-definition schema. Saving a flow runs all of it, so a definition that reaches the
 * engine has known step types (steps/), a valid DAG and expressions that parse.
 */
import jsonata from 'jsonata';
import { z } from 'zod';
import { dependenciesOf, findCycle } from './dag';
import { FLOW_TYPES, type FlowDefinition } from './flow-types';
import { stepSchema, stepType } from '../steps';
import { envAsData, expressionRefs, stringsIn } from './templates';
import { WEBHOOK_EVENTS } from './webhooks';

export const ID_PATTERN = /^[a-z0-9_.-]+$/;
const RESERVED_FLOW_IDS = ['run'];

export const flowIdSchema = z
  .string()
  .min(1)
  .max(100)
  .regex(ID_PATTERN, 'must match ^[a-z0-9_.-]+$')
  .refine((id) => !RESERVED_FLOW_IDS.includes(id), { message: '"run" is reserved' });

/** Webhooks called when a run (on a flow) or a batch (on a trigger) finishes. */
export const notifySchema = z
  .array(
    z.strictObject({
      url: z.string().max(2000).url().refine((u) => /^https?:\/\//i.test(u), { message: 'must be an http or https URL' }),
      on: z.array(z.enum(WEBHOOK_EVENTS)).min(1).max(3).default(['finished']),
    }),
  )
  .max(10);

/** Names of variables declared secret (flows, suites, apps, builds, triggers): their values show as `***`. */
export const secretsSchema = z.array(z.string().min(1).max(200)).max(200);

/** Why an expression (as it runs: its `${env:KEY}` read as data) does not parse; null when it does. */
function parseError(expression: string): string | null {
  try {
    jsonata(envAsData(expression).expression);
    return null;
  } catch (err) {
    return (err as { message?: string }).message ?? String(err);
  }
}

/** Body of POST /api/v1/flows and PUT /api/v1/flows/{id}. */
export const flowInputSchema = z
  .strictObject({
    id: flowIdSchema.optional(),
    name: z.string().min(1).max(200).optional(),
    type: z.enum(FLOW_TYPES).default('automation'),
    description: z.string().max(2000).optional(),
    variables: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String)).default({}),
    secrets: secretsSchema.optional(),
    notify: notifySchema.optional(),
    configs: z
      .strictObject({
        endOnFail: z.boolean().default(true),
        timeoutMs: z.number().int().min(1).max(30 * 24 * 3_600_000).optional(),
      })
      .default({ endOnFail: true }),
    steps: z.array(stepSchema).min(1, 'a flow needs at least one step').max(500),
  })
  .superRefine((flow, ctx) => {
    const seen = new Map<string, number>();
    flow.steps.forEach((step, i) => {
      if (seen.has(step.id))
        ctx.addIssue({ code: 'custom', path: ['steps', i, 'id'], message: `duplicate step id "${step.id}"` });
      seen.set(step.id, i);
    });
    flow.steps.forEach((step, i) => {
      (step.dependsOn ?? []).forEach((dep, j) => {
        if (!seen.has(dep))
          ctx.addIssue({ code: 'custom', path: ['steps', i, 'dependsOn', j], message: `unknown step "${dep}"` });
        else if (dep === step.id)
          ctx.addIssue({ code: 'custom', path: ['steps', i, 'dependsOn', j], message: 'a step cannot depend on itself' });
      });
      if (step.if) {
        const err = parseError(step.if);
        if (err) ctx.addIssue({ code: 'custom', path: ['steps', i, 'if'], message: `expression does not parse: ${err}` });
      }
      const type = stepType(step.type);
      for (const [path, expression] of type?.expressions?.(step.config as never) ?? []) {
        const err = parseError(expression);
        if (err) ctx.addIssue({ code: 'custom', path: ['steps', i, 'config', ...path], message: `expression does not parse: ${err}` });
      }
      for (const [text, path] of stringsIn(step.config, ['steps', i, 'config'])) {
        for (const { expression } of expressionRefs(text)) {
          const err = parseError(expression);
          if (err) ctx.addIssue({ code: 'custom', path, message: `expression {{${expression}}} does not parse: ${err}` });
        }
      }
    });
    if (flow.steps.every((s, i) => !dependenciesOf(flow.steps, i).some((d) => !seen.has(d) || d === s.id))) {
      const cycle = findCycle(flow.steps);
      if (cycle)
        ctx.addIssue({
          code: 'custom',
          path: ['steps', seen.get(cycle[0]) ?? 0, 'dependsOn'],
          message: `dependency cycle: ${cycle.join(' → ')}`,
        });
    }
  });

export type FlowInput = z.infer<typeof flowInputSchema>;

/** A validated input with its id chosen, as stored and as run. */
export function toFlowDefinition(input: FlowInput, id: string): FlowDefinition {
  return {
    id,
    name: input.name ?? id,
    type: input.type,
    ...(input.description !== undefined ? { description: input.description } : {}),
    variables: input.variables,
    ...(input.secrets?.length ? { secrets: input.secrets } : {}),
    ...(input.notify?.length ? { notify: input.notify } : {}),
    configs: input.configs,
    steps: input.steps,
  };
}
