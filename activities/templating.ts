/**
 * Resolves `${env:KEY}` and `{{ expr }}` inside step configs, and evaluates `if` conditions, on a
 * bounded evaluator. Variables are data: the `{{ }}` of a string are found in the text as written;
 * a `${env:KEY}` outside them puts the value in as plain text, and one inside an expression reads
 * the value from the scope ({@link envAsData}). No value is ever read as a template or an expression.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { ExpressionScope } from '../domain/flow-types';
import { ENV_REF, envAsData, expressionRefs, wholeExpression } from '../domain/templates';
import { EXPRESSION_ERROR, EXPRESSION_LIMIT, MISSING_VARIABLE } from '../steps/step-type';
import { ExpressionFailure, type ExpressionAccount, type ExpressionEvaluator } from './expressions';

const defined = (vars: Record<string, string>, key: string): string => {
  if (!Object.prototype.hasOwnProperty.call(vars, key))
    throw ApplicationFailure.nonRetryable(`variable ${key} is not defined (referenced as \${env:${key}})`, MISSING_VARIABLE);
  return vars[key];
};

/** `text` with each `${env:KEY}` replaced by the value as it is: the result is text, not to be scanned again. */
export function substituteEnv(text: string, vars: Record<string, string>): string {
  return text.replace(ENV_REF, (_, key: string) => defined(vars, key));
}

/** An expression that is one `${env:KEY}` alone: its value is the variable's, read without an evaluator. */
const BARE_ENV = /^\s*\$\{env:([A-Za-z_][A-Za-z0-9_.-]*)\}\s*$/;

const asText = (v: unknown): string =>
  v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v);

const shown = (expression: string): string => {
  const e = expression.trim();
  return e.length > 200 ? `${e.slice(0, 200)}…` : e;
};

/** Template rendering and conditions of one step; failures name the step. */
export interface StepTemplating {
  evaluate(expression: string): Promise<unknown>;
  render(value: unknown): Promise<unknown>;
  conditionHolds(expression: string | undefined): Promise<boolean>;
}

/** `account`: whose turn the step's expressions take on the shared evaluator (the run's account). */
export function templatingFor(evaluator: ExpressionEvaluator, scope: ExpressionScope, stepKey: string, account: ExpressionAccount = ''): StepTemplating {
  /**
   * Evaluates an expression as written by the flow's author; its `${env:KEY}` read the variables as
   * data. An evaluation error or a limit fails the step without retry, naming the expression as written.
   */
  const evaluate = async (expression: string): Promise<unknown> => {
    const bare = BARE_ENV.exec(expression);
    if (bare) return defined(scope.vars, bare[1]);
    const withEnv = envAsData(expression);
    for (const key of withEnv.keys) defined(scope.vars, key);
    try {
      return await evaluator.evaluate(withEnv.expression, scope, account);
    } catch (err) {
      if (err instanceof ExpressionFailure && err.limit)
        throw ApplicationFailure.nonRetryable(`step ${stepKey}: expression "${shown(expression)}" ${err.message}`, EXPRESSION_LIMIT);
      throw ApplicationFailure.nonRetryable(`expression "${shown(expression)}" failed: ${(err as Error).message}`, EXPRESSION_ERROR);
    }
  };

  /** The `{{ }}` are those of the text as written; what a variable or an expression puts in is never scanned again. */
  const renderString = async (text: string): Promise<unknown> => {
    // Every variable the text names must exist, whether or not its expression is reached.
    for (const m of text.matchAll(ENV_REF)) defined(scope.vars, m[1]);
    const whole = wholeExpression(text);
    if (whole !== undefined) return evaluate(whole);
    let out = '';
    let last = 0;
    for (const ref of expressionRefs(text)) {
      out += substituteEnv(text.slice(last, ref.start), scope.vars) + asText(await evaluate(ref.expression));
      last = ref.end;
    }
    return out + substituteEnv(text.slice(last), scope.vars);
  };

  /** Renders every string inside a JSON-like value; other values pass through unchanged. */
  const render = async (value: unknown): Promise<unknown> => {
    if (typeof value === 'string') return renderString(value);
    if (Array.isArray(value)) return Promise.all(value.map(render));
    if (value && typeof value === 'object') {
      const entries = await Promise.all(Object.entries(value as Record<string, unknown>).map(async ([k, v]) => [k, await render(v)] as const));
      return Object.fromEntries(entries);
    }
    return value;
  };

  /** An `if` holds when its value is truthy in JSONata's sense; a missing path is false. */
  const conditionHolds = async (expression: string | undefined): Promise<boolean> => {
    if (!expression) return true;
    const v = await evaluate(expression);
    if (Array.isArray(v)) return v.length > 0;
    return Boolean(v);
  };

  return { evaluate, render, conditionHolds };
}
