/** What a benchmark reports, and the statistics and formatting the runner shares. */
import fs from 'node:fs';
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

/** CPU seconds spent so far, by process kind: this process (gateway, worker and bench), Temporal, Postgres, other node processes (the evaluators). */
export interface CpuSeconds {
  bench: number;
  temporal: number;
  postgres: number;
  evaluators: number;
}

/** Reads /proc (Linux): every process named temporal, postgres or node, by kind; this process from `process.cpuUsage()`. */
export function cpuSeconds(): CpuSeconds {
  const out: CpuSeconds = { bench: 0, temporal: 0, postgres: 0, evaluators: 0 };
  const usage = process.cpuUsage();
  out.bench = (usage.user + usage.system) / 1e6;
  let pids: string[] = [];
  try {
    pids = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid);
  } catch {
    return out;
  }
  for (const pid of pids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const seconds = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
      if (comm === 'temporal') out.temporal += seconds;
      else if (comm === 'postgres') out.postgres += seconds;
      else if (comm === 'node' && fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('FLOWRUNS_JSONATA')) out.evaluators += seconds;
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** USER_HZ: 100 on every Linux this runs on. */
const CLOCK_TICKS = 100;

/** CPU seconds between two readings, as `bench 41.2 s, temporal 60.3 s, …`. */
export function cpuText(before: CpuSeconds, after: CpuSeconds): string {
  return (Object.keys(before) as (keyof CpuSeconds)[]).map((k) => `${k} ${(after[k] - before[k]).toFixed(1)} s`).join(', ');
}
