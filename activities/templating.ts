/** Resolves `${env:KEY}` and `{{ expr }}` inside step configs, and evaluates `if` conditions, on a bounded evaluator. */
import { ApplicationFailure } from '@temporalio/activity';
import type { ExpressionScope } from '../domain/flow-types';
import { ENV_REF, expressionRefs, wholeExpression } from '../domain/templates';
import { EXPRESSION_ERROR, EXPRESSION_LIMIT, MISSING_VARIABLE } from '../steps/step-type';
import { ExpressionFailure, type ExpressionAccount, type ExpressionEvaluator } from './expressions';

export function substituteEnv(text: string, vars: Record<string, string>): string {
  return text.replace(ENV_REF, (_, key: string) => {
    if (!Object.prototype.hasOwnProperty.call(vars, key))
      throw ApplicationFailure.nonRetryable(`variable ${key} is not defined (referenced as \${env:${key}})`, MISSING_VARIABLE);
    return vars[key];
  });
}

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
  /** An evaluation error or a limit fails the step without retry. */
  const evaluate = async (expression: string): Promise<unknown> => {
    try {
      return await evaluator.evaluate(expression, scope, account);
    } catch (err) {
      if (err instanceof ExpressionFailure && err.limit)
        throw ApplicationFailure.nonRetryable(`step ${stepKey}: expression "${shown(expression)}" ${err.message}`, EXPRESSION_LIMIT);
      throw ApplicationFailure.nonRetryable(`expression "${shown(expression)}" failed: ${(err as Error).message}`, EXPRESSION_ERROR);
    }
  };

  const renderString = async (text: string): Promise<unknown> => {
    const withEnv = substituteEnv(text, scope.vars);
    const whole = wholeExpression(withEnv);
    if (whole !== undefined) return evaluate(whole);
    let out = '';
    let last = 0;
    for (const ref of expressionRefs(withEnv)) {
      out += withEnv.slice(last, ref.start) + asText(await evaluate(ref.expression));
      last = ref.end;
    }
    return out + withEnv.slice(last);
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
    const v = await evaluate(substituteEnv(expression, scope.vars));
    if (Array.isArray(v)) return v.length > 0;
    return Boolean(v);
  };

  return { evaluate, render, conditionHolds };
}
