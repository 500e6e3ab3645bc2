/**
 * Secret variables: those declared in a `secrets` list (flows, suites, apps, builds, triggers) and
 * those whose names look secret. Their values are replaced by `***` wherever a run is recorded or
 * shown. Pure functions: the workflow bundle imports this file too.
 */
const SECRET_NAME = /(secret|token|password|passwd|pwd|api[_-]?key|private|credential|auth)/i;
export const MASK = '***';
/** Values shorter than this are masked only where a whole string equals them, not inside other text. */
const MIN_SUBSTRING = 4;

export const isSecretName = (name: string, declared: readonly string[] = []): boolean => declared.includes(name) || SECRET_NAME.test(name);

/** The names of several `secrets` lists, once each, in first-seen order. */
export const secretNames = (...lists: (readonly string[] | null | undefined)[]): string[] => [...new Set(lists.flatMap((l) => l ?? []))];

export const maskVariables = (vars: Record<string, string>, declared: readonly string[] = []): Record<string, string> =>
  Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, isSecretName(k, declared) ? MASK : v]));

/**
 * Masks every secret value inside a JSON-like value (strings, arrays and objects, keys untouched).
 * `values` lists the secret values themselves, for what cannot be walked as JSON (a browser
 * trace's files, activities/browser/trace.ts); nothing else may record or show them.
 */
export type Redact = (<T>(value: T) => T) & { readonly values: readonly string[] };

/** A function that masks every secret value inside a JSON-like value (strings, arrays and objects, keys untouched). */
export function redactor(vars: Record<string, string>, declared: readonly string[] = []): Redact {
  const values = [...new Set(Object.entries(vars).filter(([k, v]) => v && isSecretName(k, declared)).map(([, v]) => v))].sort((a, b) => b.length - a.length);
  const long = values.filter((v) => v.length >= MIN_SUBSTRING);
  const exact = new Set(values);
  if (values.length === 0) return Object.assign(<T>(value: T): T => value, { values });
  const redactString = (s: string): string => {
    if (exact.has(s)) return MASK;
    let out = s;
    for (const v of long) if (out.includes(v)) out = out.split(v).join(MASK);
    return out;
  };
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string') return redactString(value);
    if (Array.isArray(value)) return value.map(walk);
    if (value && typeof value === 'object' && !(value instanceof Date))
      return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, walk(v)]));
    return value;
  };
  return Object.assign(<T>(value: T): T => walk(value) as T, { values });
}

/** The secret values a redactor masks (none for a function that is not one). */
export const secretValuesOf = (redact: <T>(value: T) => T): readonly string[] => (redact as Partial<Redact>).values ?? [];
