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

const NAME_CHAR = /[A-Za-z0-9_.-]/;
const NAME_START = /[A-Za-z_]/;

/** Whether the `}` at `at` closes a `${env:KEY}` that begins after `from`. Walks back over the name only. */
function closesEnvRef(text: string, at: number, from: number): boolean {
  let i = at;
  while (i > from && NAME_CHAR.test(text[i - 1])) i--;
  const prefix = '${env:';
  return i < at && NAME_START.test(text[i]) && i - prefix.length >= from && text.startsWith(prefix, i - prefix.length);
}

/**
 * Every `{{ … }}` in `text`, left to right; each ends at the first `}}` after its opening (at least
 * one character apart) that is not the closing brace of a `${env:KEY}` inside it, so `{{${env:N}}}`
 * is one expression. Found in the text as written, before any variable is put in.
 */
export function expressionRefs(text: string): ExpressionRef[] {
  const refs: ExpressionRef[] = [];
  let from = 0;
  for (;;) {
    const start = text.indexOf('{{', from);
    if (start < 0) return refs;
    let close = text.indexOf('}}', start + 3);
    while (close >= 0 && closesEnvRef(text, close, start + 2)) close = text.indexOf('}}', close + 1);
    // No `}}` after this opening means none after any later opening either.
    if (close < 0) return refs;
    refs.push({ start, end: close + 2, expression: text.slice(start + 2, close) });
    from = close + 2;
  }
}

/** An expression whose `${env:KEY}` references read the variables as data, and the keys they name. */
export interface EnvExpression {
  expression: string;
  keys: string[];
}

/** The JSONata that reads variable `key` from the scope's root: the key's characters need no escaping inside backticks. */
const readVar = (key: string): string => `$$.vars.\`${key}\``;

/**
 * Rewrites every `${env:KEY}` of a JSONata expression into a read of the variable from the scope
 * (`$$.vars.\`KEY\``), so a variable's value is data to the expression, never its text: a value
 * holding `{{ }}`, quotes or JSONata cannot become code. Inside a string literal the literal is
 * split and joined with `&` (`"Bearer ${env:T}"` → `("Bearer " & $$.vars.\`T\`)`); comments and
 * backtick names are left alone. The result holds only the author's text and fixed tokens, so a
 * misjudged context can make it fail to parse but never evaluate a value.
 */
export function envAsData(expression: string): EnvExpression {
  const keys: string[] = [];
  const read = (key: string): string => (keys.push(key), readVar(key));
  /** Offset just past the `close` that ends what opened before `from`; -1 when none does. */
  const endOf = (close: string, from: number, escapes: boolean): number => {
    for (let i = from; i < expression.length; i++) {
      if (escapes && expression[i] === '\\') i++;
      else if (expression.startsWith(close, i)) return i + close.length;
    }
    return -1;
  };
  let out = '';
  let i = 0;
  while (i < expression.length) {
    const c = expression[i];
    const opens = expression.startsWith('/*', i) ? '*/' : c === '`' ? '`' : c === '"' || c === "'" ? c : undefined;
    if (opens) {
      const end = endOf(opens, i + (opens === '*/' ? 2 : 1), opens === c && c !== '`');
      // Unterminated: the rest as written, for JSONata to refuse.
      if (end < 0) return { expression: out + expression.slice(i), keys };
      const body = expression.slice(i + 1, end - 1);
      out += opens === c && c !== '`' ? stringWithEnv(c, body, read) : expression.slice(i, end);
      i = end;
      continue;
    }
    const ref = c === '$' ? envRefAt(expression, i) : undefined;
    if (ref) {
      out += `(${read(ref.key)})`;
      i = ref.end;
    } else {
      out += c;
      i++;
    }
  }
  return { expression: out, keys };
}

const ENV_AT = /\$\{env:([A-Za-z_][A-Za-z0-9_.-]*)\}/y;

/** The `${env:KEY}` that starts at `at`, if one does. */
function envRefAt(text: string, at: number): { key: string; end: number } | undefined {
  ENV_AT.lastIndex = at;
  const m = ENV_AT.exec(text);
  return m ? { key: m[1], end: at + m[0].length } : undefined;
}

/** A string literal (its quote and raw body) with its `${env:KEY}` references split out and joined with `&`. */
function stringWithEnv(quote: string, body: string, read: (key: string) => string): string {
  const parts: string[] = [];
  let last = 0;
  for (let j = body.indexOf('${env:'); j >= 0; j = body.indexOf('${env:', j + 1)) {
    const ref = envRefAt(body, j);
    if (!ref) continue;
    if (j > last) parts.push(quote + body.slice(last, j) + quote);
    parts.push(read(ref.key));
    last = ref.end;
    j = ref.end - 1;
  }
  if (parts.length === 0) return quote + body + quote;
  if (last < body.length) parts.push(quote + body.slice(last) + quote);
  return `(${parts.join(' & ')})`;
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
