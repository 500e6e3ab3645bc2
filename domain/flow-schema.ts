/**
 * The flow definition's JSON Schema (draft 2020-12), generated from the zod schema the API
 * validates with (`flowInputSchema`), so editors (YAML language server, VS Code `json.schemas`)
 * check a flow file against the same rules as `POST /api/v1/flows`: every object closed
 * (`additionalProperties: false`), the step types and browser actions as `oneOf` on their
 * discriminator. Rules zod checks in code (DAG, expressions, one-of-these fields) are not in it;
 * `flowruns flows validate` and the API still apply them. Pure: served by the gateway at
 * `GET /api/v1/schemas/flow.json` and written into the CLI package.
 */
import { z } from 'zod';
import { flowInputSchema } from './flow-definition';

export const FLOW_SCHEMA_TITLE = 'Flow Runs flow definition';

let cached: Record<string, unknown> | undefined;

/** The schema of a flow file as written (the input side: fields with defaults are optional). */
export function flowJsonSchema(): Record<string, unknown> {
  cached ??= {
    ...z.toJSONSchema(flowInputSchema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }),
    title: FLOW_SCHEMA_TITLE,
    description: 'A flow: steps run as a DAG (dependsOn), each of a registered type with its own config. See docs/flows.md.',
  };
  return cached;
}
