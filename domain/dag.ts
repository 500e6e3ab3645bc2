/** Pure DAG helpers shared by definition validation and the flow-run workflow. */
import type { StepDefinition } from './flow-types';

/** `dependsOn` absent means "the previous step in the list"; `[]` means "start at once". */
export function dependenciesOf(steps: readonly StepDefinition[], index: number): string[] {
  const step = steps[index];
  if (step.dependsOn) return step.dependsOn;
  return index === 0 ? [] : [steps[index - 1].id];
}

/** Returns the ids along one cycle, or null when the graph is acyclic. */
export function findCycle(steps: readonly StepDefinition[]): string[] | null {
  const deps = new Map(steps.map((s, i) => [s.id, dependenciesOf(steps, i)]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): string[] | null => {
    if (state.get(id) === 'done') return null;
    if (state.get(id) === 'visiting') return [...stack.slice(stack.indexOf(id)), id];
    state.set(id, 'visiting');
    stack.push(id);
    for (const d of deps.get(id) ?? []) {
      const cycle = deps.has(d) ? visit(d) : null;
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(id, 'done');
    return null;
  };
  for (const s of steps) {
    const cycle = visit(s.id);
    if (cycle) return cycle;
  }
  return null;
}
