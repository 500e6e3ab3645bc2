/**
 * Variables are data (SPEC §10): whatever a variable holds — `{{ }}`, `${env:…}`, quotes, JSONata —
 * it is put in as text and never evaluated. Unit level: the templating of one step over a real
 * evaluator; test/variables-as-data.test.ts tries the same attack through the whole stack.
 */
import { ExpressionEvaluator } from '../../activities/expressions';
import { templatingFor } from '../../activities/templating';
import type { ExpressionScope } from '../../domain/flow-types';
import { envAsData, expressionRefs } from '../../domain/templates';

const PASSWORD = 'hunter2-Secret';
const DOTTED = PASSWORD.split('').join('.');

/** Template-shaped values an attacker may send as a trigger's `env`. */
const ATTACKS = [
  '{{ vars.PASSWORD }}',
  "{{ $join($split(vars.PASSWORD, ''), '.') }}",
  '${env:PASSWORD}',
  '{{ $string(vars) }}',
  '" & vars.PASSWORD & "',
  "' & vars.PASSWORD & '",
  '") & vars.PASSWORD & ("',
  '`PASSWORD`',
  '*/ vars.PASSWORD /*',
  '}} {{ vars.PASSWORD }}',
];

let evaluator: ExpressionEvaluator;
beforeAll(() => {
  evaluator = new ExpressionEvaluator();
});
afterAll(() => evaluator.close());

const scopeWith = (vars: Record<string, string>): ExpressionScope => ({
  trigger: { body: { n: 2 } },
  vars: { PASSWORD, ...vars },
  steps: { a: { status: 'succeeded', output: { items: [{ id: 'x' }, { id: 'y' }] } } },
  auth: {},
  run: { id: 'r', batchId: 'b', flowId: 'f' },
});

const leaks = (value: unknown): boolean => {
  const text = JSON.stringify(value);
  return text.includes(PASSWORD) || text.includes(DOTTED);
};

describe('a variable holding a template', () => {
  it.each(ATTACKS)('when Q is %j, then every place that reads ${env:Q} gets the text as it is', async (q) => {
    const t = templatingFor(evaluator, scopeWith({ Q: q }), 'step');
    const config = {
      url: 'http://127.0.0.1:1/x?q=${env:Q}',
      whole: '${env:Q}',
      expression: '{{ ${env:Q} }}',
      inString: '{{ "pre-${env:Q}-post" }}',
      singleQuoted: "{{ 'pre-${env:Q}' }}",
      mixed: 'a {{ $uppercase("${env:Q}") }} b ${env:Q} c',
      compared: '{{ ${env:Q} = "x" }}',
      headers: { 'x-q': '${env:Q}' },
      body: ['${env:Q}', { nested: 'n={{ trigger.body.n }} q=${env:Q}' }],
    };
    const rendered = (await t.render(config)) as typeof config;
    expect(leaks(rendered)).toBe(false);
    expect(rendered).toEqual({
      url: `http://127.0.0.1:1/x?q=${q}`,
      whole: q,
      expression: q,
      inString: `pre-${q}-post`,
      singleQuoted: `pre-${q}`,
      mixed: `a ${q.toUpperCase()} b ${q} c`,
      compared: false,
      headers: { 'x-q': q },
      body: [q, { nested: `n=2 q=${q}` }],
    });
    await expect(t.conditionHolds('${env:Q} = "x"')).resolves.toBe(false);
    await expect(t.conditionHolds('${env:Q} = vars.Q and $length(${env:Q}) > 0')).resolves.toBe(true);
    await expect(t.evaluate('$length(${env:Q})')).resolves.toBe(q.length);
  });

  it('when a variable names itself or another variable, then it is not resolved again', async () => {
    const t = templatingFor(evaluator, scopeWith({ A: '${env:B}', B: '${env:A}', C: '{{ ${env:PASSWORD} }}' }), 'step');
    await expect(t.render('${env:A}|${env:B}|${env:C}')).resolves.toBe('${env:B}|${env:A}|{{ ${env:PASSWORD} }}');
  });

  it('when a variable reads the one before it in a literal, then the two values are joined as text, not scanned together', async () => {
    // '{' + '{ vars.PASSWORD }}' would be a template if the text were scanned after substitution.
    const t = templatingFor(evaluator, scopeWith({ L: '{', R: '{ vars.PASSWORD }}' }), 'step');
    await expect(t.render('${env:L}${env:R}')).resolves.toBe('{{ vars.PASSWORD }}');
  });

  it('when the author reads a variable inside an expression, then it works as vars.KEY does and keeps the string type', async () => {
    const t = templatingFor(evaluator, scopeWith({ N: '41', ID: 'y', 'DOTTED.name-1': 'ok' }), 'step');
    await expect(t.render('{{ $number(${env:N}) + 1 }}')).resolves.toBe(42);
    await expect(t.render('{{ ${env:N} }}')).resolves.toBe('41');
    await expect(t.render('{{${env:N}}}')).resolves.toBe('41');
    await expect(t.render('{{ steps.a.output.items[id = ${env:ID}].id }}')).resolves.toBe('y');
    await expect(t.render('{{ "Bearer ${env:DOTTED.name-1}" }}')).resolves.toBe('Bearer ok');
    await expect(t.conditionHolds('${env:N} = "41"')).resolves.toBe(true);
  });

  it('when a variable is missing, then the step fails naming it, wherever it is referenced', async () => {
    const t = templatingFor(evaluator, scopeWith({}), 'step');
    for (const text of ['x ${env:NOPE}', '{{ ${env:NOPE} }}', 'a {{ "${env:NOPE}" }} b'])
      await expect(t.render(text)).rejects.toMatchObject({ type: 'MissingVariable', message: expect.stringContaining('variable NOPE is not defined') });
    await expect(t.conditionHolds('${env:NOPE} = 1')).rejects.toMatchObject({ type: 'MissingVariable' });
  });

  it('when an expression with a variable fails, then the error shows the expression as written, not the value', async () => {
    const t = templatingFor(evaluator, scopeWith({ Q: PASSWORD }), 'step');
    await expect(t.render('{{ $notAFunction(${env:Q}) }}')).rejects.toMatchObject({ type: 'ExpressionError', message: expect.stringContaining('$notAFunction(${env:Q})') });
  });
});

describe('envAsData', () => {
  it('when an expression names variables, then the rewrite holds only the author text and reads of the scope', () => {
    expect(envAsData('${env:A} & "x ${env:B} y" & \'${env:C}\'')).toEqual({
      expression: '($$.vars.`A`) & ("x " & $$.vars.`B` & " y") & ($$.vars.`C`)',
      keys: ['A', 'B', 'C'],
    });
    expect(envAsData('/* ${env:A} */ `${env:B}`')).toEqual({ expression: '/* ${env:A} */ `${env:B}`', keys: [] });
  });

  it('when a 900 KB expression is a run of `${env:`, then rewriting it and scanning it stays linear', () => {
    const text = '{{' + '${env:'.repeat(150_000) + '}}';
    // CPU time of this process, not the wall clock: a loaded machine does not fail it; quadratic work would take minutes.
    const started = process.cpuUsage();
    envAsData(text);
    expressionRefs(text);
    expressionRefs('{{' + '${env:a}'.repeat(100_000) + '}');
    const used = process.cpuUsage(started);
    expect((used.user + used.system) / 1000).toBeLessThan(500);
  });
});
