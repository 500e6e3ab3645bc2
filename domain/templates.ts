/** Syntax of `${env:KEY}` references and `{{ expr }}` expressions inside step configs. */
export const ENV_REF = /\$\{env:([A-Za-z_][A-Za-z0-9_.-]*)\}/g;
export const EXPR_REF = /\{\{([\s\S]+?)\}\}/g;
/** A string that is exactly one expression keeps the value's JSON type. */
export const WHOLE_EXPR = /^\s*\{\{([\s\S]+?)\}\}\s*$/;

/** Every string inside a JSON-like value, with its path, for validation and rendering. */
export function* stringsIn(value: unknown, path: (string | number)[] = []): Generator<[string, (string | number)[]]> {
  if (typeof value === 'string') yield [value, path];
  else if (Array.isArray(value)) for (let i = 0; i < value.length; i++) yield* stringsIn(value[i], [...path, i]);
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) yield* stringsIn(v, [...path, k]);
}
