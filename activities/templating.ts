/** Resolves `${env:KEY}` and `{{ expr }}` inside step configs, and evaluates `if` conditions. */
import { ApplicationFailure } from '@temporalio/activity';
import jsonata from 'jsonata';
import type { ExpressionScope } from '../domain/flow-types';
import { ENV_REF, EXPR_REF, WHOLE_EXPR } from '../domain/templates';
import { EXPRESSION_ERROR, MISSING_VARIABLE } from '../steps/step-type';

/** Evaluates a JSONata expression; an evaluation error fails the step without retry. */
export async function evaluate(expression: string, scope: ExpressionScope): Promise<unknown> {
  try {
    return await jsonata(expression).evaluate(scope);
  } catch (err) {
    const message = (err as { message?: string }).message ?? String(err);
    throw ApplicationFailure.nonRetryable(`expression "${expression.trim()}" failed: ${message}`, EXPRESSION_ERROR);
  }
}

export function substituteEnv(text: string, vars: Record<string, string>): string {
  return text.replace(ENV_REF, (_, key: string) => {
    if (!Object.prototype.hasOwnProperty.call(vars, key))
      throw ApplicationFailure.nonRetryable(`variable ${key} is not defined (referenced as \${env:${key}})`, MISSING_VARIABLE);
    return vars[key];
  });
}

const asText = (v: unknown): string =>
  v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v);

async function renderString(text: string, scope: ExpressionScope): Promise<unknown> {
  const withEnv = substituteEnv(text, scope.vars);
  const whole = WHOLE_EXPR.exec(withEnv);
  if (whole) return evaluate(whole[1], scope);
  let out = '';
  let last = 0;
  for (const m of withEnv.matchAll(EXPR_REF)) {
    out += withEnv.slice(last, m.index) + asText(await evaluate(m[1], scope));
    last = (m.index ?? 0) + m[0].length;
  }
  return out + withEnv.slice(last);
}

/** Renders every string inside a JSON-like value; other values pass through unchanged. */
export async function render(value: unknown, scope: ExpressionScope): Promise<unknown> {
  if (typeof value === 'string') return renderString(value, scope);
  if (Array.isArray(value)) return Promise.all(value.map((v) => render(v, scope)));
  if (value && typeof value === 'object') {
    const entries = await Promise.all(
      Object.entries(value as Record<string, unknown>).map(async ([k, v]) => [k, await render(v, scope)] as const),
    );
    return Object.fromEntries(entries);
  }
  return value;
}

/** An `if` holds when its value is truthy in JSONata's sense; a missing path is false. */
export async function conditionHolds(expression: string | undefined, scope: ExpressionScope): Promise<boolean> {
  if (!expression) return true;
  const v = await evaluate(substituteEnv(expression, scope.vars), scope);
  if (Array.isArray(v)) return v.length > 0;
  return Boolean(v);
}
