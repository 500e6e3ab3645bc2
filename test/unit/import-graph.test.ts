/**
 * The layers kept by rule (docs/architecture.md): the source's import graph, type-only imports
 * included, has no circle and no import that goes up a layer (apps/ above all). ESLint's
 * import/no-cycle skips type-only imports, so this is where a circle of types is caught.
 */
import path from 'node:path';
import { cycles, importGraph, upwardImports } from '../../scripts/import-graph';

const graph = importGraph(path.resolve(__dirname, '../..'));

describe('import graph', () => {
  it('covers the source of every layer', () => {
    const tops = new Set([...graph.keys()].map((f) => f.split('/')[0]));
    expect([...tops].sort()).toEqual(['activities', 'apps', 'core', 'db', 'domain', 'platform', 'steps', 'workflows']);
    expect(graph.get('activities/scheduled.ts')).toContain('core/batches.ts');
  });

  it('has no circle', () => {
    expect(cycles(graph).map((c) => c.join(' -> '))).toEqual([]);
  });

  it('has no import that goes up a layer', () => {
    expect(upwardImports(graph).map(([from, to]) => `${from} -> ${to}`)).toEqual([]);
  });

  it('finds a circle, and an upward import, where there is one', () => {
    const g = new Map([
      ['domain/a.ts', ['domain/b.ts']],
      ['domain/b.ts', ['domain/c.ts']],
      ['domain/c.ts', ['domain/a.ts', 'apps/x.ts']],
      ['apps/x.ts', ['domain/a.ts']],
    ]);
    // One circle per tangle, shown by its shortest way round from where it was entered.
    expect(cycles(g)).toEqual([['domain/a.ts', 'domain/b.ts', 'domain/c.ts', 'domain/a.ts']]);
    expect(upwardImports(g)).toEqual([['domain/c.ts', 'apps/x.ts']]);
    expect(cycles(new Map([['core/self.ts', ['core/self.ts']]]))).toEqual([['core/self.ts', 'core/self.ts']]);
  });
});
