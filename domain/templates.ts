/**
 * Syntax of `${env:KEY}` references and `{{ expr }}` expressions inside step configs. Scanning is
 * linear in the length of the text, whatever it holds (a long run of `{` included).
 */
export const ENV_REF = /\$\{env:([A-Za-z_][A-Za-z0-9_.-]*)\}/g;

export interface ExpressionRef {
  /** Offset of the opening `{{`. */
  start: number;
  /** Offset just past the closing `}}`. */
  end: number;
  /** The text between the braces. */
  expression: string;
}

/** Every `{{ … }}` in `text`, left to right; each ends at the first `}}` after its opening (at least one character apart). */
export function expressionRefs(text: string): ExpressionRef[] {
  const refs: ExpressionRef[] = [];
  let from = 0;
  for (;;) {
    const start = text.indexOf('{{', from);
    if (start < 0) return refs;
    const close = text.indexOf('}}', start + 3);
    // No `}}` after this opening means none after any later opening either.
    if (close < 0) return refs;
    refs.push({ start, end: close + 2, expression: text.slice(start + 2, close) });
    from = close + 2;
  }
}

/** The expression of a string that is exactly one `{{ expr }}` (surrounding blanks aside), which keeps the value's JSON type. */
export function wholeExpression(text: string): string | undefined {
  const refs = expressionRefs(text);
  if (refs.length !== 1) return undefined;
  const [ref] = refs;
  return text.slice(0, ref.start).trim() === '' && text.slice(ref.end).trim() === '' ? ref.expression : undefined;
}

/** Every string inside a JSON-like value, with its path, for validation and rendering. */
export function* stringsIn(value: unknown, path: (string | number)[] = []): Generator<[string, (string | number)[]]> {
  if (typeof value === 'string') yield [value, path];
  else if (Array.isArray(value)) for (let i = 0; i < value.length; i++) yield* stringsIn(value[i], [...path, i]);
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) yield* stringsIn(v, [...path, k]);
}
