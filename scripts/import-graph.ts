/**
 * The import graph of the source (not the tests): every relative import, type-only ones included,
 * between the files of the layers below. `npm run graph` prints it (`file -> import`, one a line)
 * and exits 1 when it has a circle or an import that goes up a layer; test/unit/import-graph.test.ts
 * holds the same two rules. The layers, lowest first (docs/architecture.md):
 *
 *   domain, steps  →  db  →  core  →  activities, workflows, platform  →  apps
 *
 * A file may import its own layer and those below it, never one above.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** Top-level folders of the source, each with its layer (higher may import lower, never the reverse). */
export const LAYERS: Record<string, number> = {
  domain: 0,
  steps: 0,
  db: 1,
  core: 2,
  activities: 3,
  workflows: 3,
  platform: 3,
  apps: 4,
};

const SKIP = new Set(['node_modules', 'dist', 'generated']);

function sourceFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return SKIP.has(e.name) ? [] : sourceFiles(p);
    return /\.(ts|mts|cts)$/.test(e.name) && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

function resolve(from: string, spec: string): string | undefined {
  const base = path.resolve(path.dirname(from), spec.replace(/\.js$/, ''));
  return [`${base}.ts`, `${base}.mts`, `${base}.cts`, path.join(base, 'index.ts')].find((c) => fs.existsSync(c));
}

/** Files (relative to `root`, `/`-separated) and the files each imports. */
export function importGraph(root: string): Map<string, string[]> {
  const rel = (p: string) => path.relative(root, p).split(path.sep).join('/');
  const graph = new Map<string, string[]>();
  for (const top of Object.keys(LAYERS))
    for (const file of sourceFiles(path.join(root, top))) {
      const info = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
      const targets = info.importedFiles
        .map((f) => f.fileName)
        .filter((s) => s.startsWith('.'))
        .map((s) => resolve(file, s))
        .filter((t): t is string => t !== undefined)
        .map(rel);
      graph.set(rel(file), [...new Set(targets)].sort());
    }
  return new Map([...graph].sort(([a], [b]) => a.localeCompare(b)));
}

/** Each circle of the graph once, as the files around it (its strongly connected components, with one path through each). */
export function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(circleThrough(graph, new Set(scc), v));
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
}

/** A path from `start` back to itself inside one strongly connected component. */
function circleThrough(graph: Map<string, string[]>, scc: Set<string>, start: string): string[] {
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!scc.has(w)) continue;
      if (w === start) {
        const circle = [v];
        for (let u = v; u !== start; ) circle.unshift((u = prev.get(u)!));
        return [...circle, start];
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

const layerOf = (file: string): number => LAYERS[file.split('/')[0]!]!;

/** Imports that go up a layer: `[importer, imported]`. */
export function upwardImports(graph: Map<string, string[]>): [string, string][] {
  return [...graph].flatMap(([from, tos]) => tos.filter((to) => layerOf(to) > layerOf(from)).map((to): [string, string] => [from, to]));
}

if (require.main === module) {
  const root = path.resolve(__dirname, '..');
  const graph = importGraph(root);
  const quiet = process.argv.includes('--quiet');
  if (!quiet) for (const [from, tos] of graph) for (const to of tos) console.log(`${from} -> ${to}`);
  const circles = cycles(graph);
  const upward = upwardImports(graph);
  const edges = [...graph.values()].reduce((n, tos) => n + tos.length, 0);
  console.error(`${graph.size} files, ${edges} imports; ${circles.length} circle(s), ${upward.length} upward import(s)`);
  for (const c of circles) console.error(`circle: ${c.join(' -> ')}`);
  for (const [from, to] of upward) console.error(`upward: ${from} -> ${to} (layer ${from.split('/')[0]} imports ${to.split('/')[0]})`);
  process.exit(circles.length || upward.length ? 1 : 0);
}
