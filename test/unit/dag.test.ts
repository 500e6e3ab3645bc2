/** The DAG helpers of a flow's steps (domain/dag.ts): implied dependencies and cycles. */
import { dependenciesOf, findCycle } from '../../domain/dag';
import type { StepDefinition } from '../../domain/flow-types';

const step = (id: string, dependsOn?: string[]): StepDefinition =>
  ({ id, type: 'delay', config: { durationMs: 1 }, ...(dependsOn ? { dependsOn } : {}) }) as StepDefinition;

describe('dependenciesOf', () => {
  const steps = [step('a'), step('b'), step('c', []), step('d', ['a', 'c'])];

  it('when dependsOn is absent, then a step depends on the one before it, and the first on none', () => {
    expect(dependenciesOf(steps, 0)).toEqual([]);
    expect(dependenciesOf(steps, 1)).toEqual(['a']);
  });

  it('when dependsOn is given, then it is taken as written, [] meaning start at once', () => {
    expect(dependenciesOf(steps, 2)).toEqual([]);
    expect(dependenciesOf(steps, 3)).toEqual(['a', 'c']);
  });
});

describe('findCycle', () => {
  it('when the steps form a chain or a diamond, then there is no cycle', () => {
    expect(findCycle([step('a'), step('b'), step('c')])).toBeNull();
    expect(findCycle([step('a', []), step('b', ['a']), step('c', ['a']), step('d', ['b', 'c'])])).toBeNull();
  });

  it('when two steps wait for each other, then the cycle is named from where it closes', () => {
    expect(findCycle([step('a', ['b']), step('b', ['a'])])).toEqual(['a', 'b', 'a']);
  });

  it('when a cycle is implied by list order, then it is found too', () => {
    // b depends (implicitly) on a, a explicitly on c, c on b.
    expect(findCycle([step('a', ['c']), step('b'), step('c', ['b'])])).toEqual(['a', 'c', 'b', 'a']);
  });

  it('when a step depends on itself, then that is a cycle of one', () => {
    expect(findCycle([step('a', ['a'])])).toEqual(['a', 'a']);
  });

  it('when a dependency names no step, then it is ignored here (validation names it)', () => {
    expect(findCycle([step('a', ['missing']), step('b')])).toBeNull();
  });

  it('when a graph of 2,000 steps is a chain, then it is walked without running out of stack', () => {
    const chain = Array.from({ length: 2_000 }, (_, i) => step(`s${i}`));
    expect(findCycle(chain)).toBeNull();
  });
});
