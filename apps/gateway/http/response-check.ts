/**
 * Checks a reply against its route's response schema made strict all the way down, so a field
 * a handler returns but the schema (and so the OpenAPI document) lacks fails loudly. Tests turn
 * it on; production does not pay for it.
 */
import { z } from 'zod';

type Def = { type: string } & Record<string, unknown>;
const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

const cache = new WeakMap<z.ZodType, z.ZodType>();

/**
 * `schema` with every object strict (an object declared loose stays loose). Checks are dropped:
 * this compares the reply's shape, the use case has already applied the rules. A transform's
 * output is not described by a schema, so it accepts anything.
 */
function strictSchema(schema: z.ZodType): z.ZodType {
  const known = cache.get(schema);
  if (known) return known;
  const out = strictOf(schema);
  cache.set(schema, out);
  return out;
}

function strictOf(schema: z.ZodType): z.ZodType {
  const def = defOf(schema);
  switch (def.type) {
    case 'object': {
      const shape = Object.fromEntries(Object.entries(def.shape as Record<string, z.ZodType>).map(([k, v]) => [k, strictSchema(v)]));
      const catchall = def.catchall as z.ZodType | undefined;
      return catchall ? z.object(shape).catchall(catchall) : z.strictObject(shape);
    }
    case 'array':
      return z.array(strictSchema(def.element as z.ZodType));
    case 'optional':
    case 'default':
    case 'prefault':
      return strictSchema(def.innerType as z.ZodType).optional();
    case 'nullable':
      return strictSchema(def.innerType as z.ZodType).nullable();
    case 'readonly':
    case 'catch':
    case 'nonoptional':
      return strictSchema(def.innerType as z.ZodType);
    case 'union': {
      const options = (def.options as z.ZodType[]).map(strictSchema);
      return options.length === 1 ? options[0]! : z.union(options as [z.ZodType, z.ZodType, ...z.ZodType[]]);
    }
    case 'record':
      return z.record(def.keyType as z.core.$ZodRecordKey, strictSchema(def.valueType as z.ZodType));
    case 'pipe': {
      const out = def.out as z.ZodType;
      return defOf(out).type === 'transform' ? z.unknown() : strictSchema(out);
    }
    case 'lazy':
      return z.lazy(() => strictSchema((def.getter as () => z.ZodType)()));
    case 'transform':
      return z.unknown();
    default:
      return schema;
  }
}

/** Throws, naming every offending path, when `body` does not fit `schema` made strict. */
export function checkResponse(schema: z.ZodType, body: unknown, what: string): void {
  const json: unknown = body === undefined ? undefined : JSON.parse(JSON.stringify(body));
  const parsed = strictSchema(schema).safeParse(json);
  if (parsed.success) return;
  throw new Error(`response of ${what} does not match its response schema: ${describe(parsed.error.issues, []).join('; ')}`);
}

/** One line per issue, a union's issues being those of each of its options. */
function describe(issues: readonly z.core.$ZodIssue[], prefix: PropertyKey[]): string[] {
  return issues.flatMap((i) => {
    const path = [...prefix, ...i.path];
    if (i.code === 'invalid_union' && i.errors.length > 0) return i.errors.flatMap((options) => describe(options, path));
    return [`${path.map(String).join('.') || '(root)'}: ${i.message}`];
  });
}
