/** What a benchmark reports, and the statistics and formatting the runner shares. */
import type { Platform, Services, StubService } from './stack';

export interface Row {
  /** P1…P5. */
  id: string;
  benchmark: string;
  /** The measured figure, with its unit, as printed. */
  figure: string;
  value: number;
  /** The reference measured in the same run, as printed; '—' when the target is absolute. */
  reference: string;
  /** figure / reference, when the target is a ratio. */
  ratio: number | null;
  target: string;
  /** null: printed only (no target). */
  met: boolean | null;
  note?: string;
}

export interface BenchContext {
  quick: boolean;
  services: Services;
  /** The gateway and worker in this process, shared by the benchmarks that need no process of their own. */
  platform: Platform;
  stub: StubService;
  log(message: string): void;
}

export interface Benchmark {
  name: string;
  title: string;
  run(ctx: BenchContext): Promise<Row[]>;
}

export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

export const ms = (v: number): string => (v >= 100 ? `${v.toFixed(0)} ms` : `${v.toFixed(2)} ms`);
export const ratioText = (r: number | null): string => (r === null ? '—' : `${r.toFixed(2)}×`);

/** Times `fn` `n` times one after another after `warmup` untimed calls; answers the samples in ms. */
export async function sample(n: number, fn: (i: number) => Promise<unknown>, warmup = 10): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn(i);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    out.push(performance.now() - t);
  }
  return out;
}

export function markdownTable(rows: readonly Row[]): string {
  const head = ['#', 'benchmark', 'figure', 'reference', 'ratio', 'target', 'met?'];
  const lines = rows.map((r) => [r.id, r.benchmark, r.figure, r.reference, ratioText(r.ratio), r.target, r.met === null ? '—' : r.met ? 'yes' : '**no**']);
  return [head, head.map(() => '---'), ...lines].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}
