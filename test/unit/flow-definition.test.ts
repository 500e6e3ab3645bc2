/**
 * The flow-definition schema (domain/flow-definition.ts): what saving a flow checks, each refusal
 * at the path of the field it names, and the definition a valid input becomes.
 */
import { flowIdSchema, flowInputSchema, toFlowDefinition } from '../../domain/flow-definition';

const issues = (input: unknown): { path: string; message: string }[] => {
  const parsed = flowInputSchema.safeParse(input);
  return parsed.success ? [] : parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
};

const http = (id: string, extra: Record<string, unknown> = {}) => ({ id, type: 'http', config: { url: 'https://example.com/' }, ...extra });

describe('flow ids', () => {
  it.each(['checkout', 'a.b-c_1', 'x'.repeat(100)])('when the id is %s, then it is accepted', (id) => {
    expect(flowIdSchema.safeParse(id).success).toBe(true);
  });

  it.each(['', 'Upper', 'with space', 'run', 'x'.repeat(101), 'slash/id'])('when the id is "%s", then it is refused', (id) => {
    expect(flowIdSchema.safeParse(id).success).toBe(false);
  });
});

describe('a flow input', () => {
  it('when it has one valid step, then the defaults are filled in', () => {
    const parsed = flowInputSchema.parse({ steps: [http('get')] });
    expect(parsed).toMatchObject({ type: 'automation', variables: {}, configs: { endOnFail: true }, steps: [http('get')] });
  });

  it('when variables are numbers or booleans, then they are kept as strings', () => {
    expect(flowInputSchema.parse({ variables: { N: 3, B: false, S: 's' }, steps: [http('get')] }).variables).toEqual({ N: '3', B: 'false', S: 's' });
  });

  it('when it has no step, then it is refused at steps', () => {
    expect(issues({ steps: [] })).toEqual([{ path: 'steps', message: 'a flow needs at least one step' }]);
  });

  it('when a step type is unknown, then it is refused at its type, listing the known ones', () => {
    const [issue] = issues({ steps: [{ id: 'x', type: 'ftp', config: {} }] });
    expect(issue.path).toBe('steps.0.type');
    expect(issue.message).toMatch(/unknown step type: expected one of http, transform, delay/);
  });

  it('when two steps share an id, then the second is refused at its id', () => {
    expect(issues({ steps: [http('a'), http('a')] })).toEqual([{ path: 'steps.1.id', message: 'duplicate step id "a"' }]);
  });

  it('when a step depends on an unknown step or on itself, then each is refused at its place in dependsOn', () => {
    expect(issues({ steps: [http('a', { dependsOn: ['nope'] }), http('b', { dependsOn: ['a', 'b'] })] })).toEqual([
      { path: 'steps.0.dependsOn.0', message: 'unknown step "nope"' },
      { path: 'steps.1.dependsOn.1', message: 'a step cannot depend on itself' },
    ]);
  });

  it('when the steps wait for each other, then the cycle is named at the step where it starts', () => {
    expect(issues({ steps: [http('a', { dependsOn: ['b'] }), http('b', { dependsOn: ['a'] })] })).toEqual([
      { path: 'steps.0.dependsOn', message: 'dependency cycle: a → b → a' },
    ]);
  });

  it('when an if, a transform expression or a {{ }} template does not parse, then each is refused where it is written', () => {
    const found = issues({
      steps: [
        http('a', { if: '1 +' }),
        { id: 't', type: 'transform', config: { expression: '$foo(' } },
        { id: 'g', type: 'http', config: { url: 'https://example.com/{{ ( }}' } },
      ],
    });
    expect(found.map((i) => i.path)).toEqual(['steps.0.if', 'steps.1.config.expression', 'steps.2.config.url']);
    expect(found[0].message).toMatch(/^expression does not parse: /);
    expect(found[2].message).toMatch(/^expression \{\{ \( \}\} does not parse: /);
  });

  it('when an expression reads ${env:KEY}, then it parses (the variable is read as data)', () => {
    expect(issues({ steps: [http('a', { if: '${env:MODE} = "on"' })] })).toEqual([]);
  });

  it('when a webhook target is not http(s), then it is refused at its url', () => {
    const found = issues({ notify: [{ url: 'ftp://example.com/hook' }], steps: [http('a')] });
    expect(found).toEqual([{ path: 'notify.0.url', message: 'must be an http or https URL' }]);
  });
});

describe('toFlowDefinition', () => {
  it('when an input is valid, then the definition takes the chosen id, the id as name by default, and leaves empty lists out', () => {
    const input = flowInputSchema.parse({ steps: [http('get')], secrets: [], notify: [] });
    expect(toFlowDefinition(input, 'checkout')).toEqual({
      id: 'checkout',
      name: 'checkout',
      type: 'automation',
      variables: {},
      configs: { endOnFail: true },
      steps: [http('get')],
    });
  });

  it('when an input has a name, secrets and a description, then they are kept', () => {
    const input = flowInputSchema.parse({ name: 'Checkout', description: 'd', secrets: ['TOKEN'], steps: [http('get')] });
    expect(toFlowDefinition(input, 'c')).toMatchObject({ name: 'Checkout', description: 'd', secrets: ['TOKEN'] });
  });
});
