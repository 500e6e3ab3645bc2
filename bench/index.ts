/**
 * `npm run bench [-- --quick] [-- p1 p2 …]`: the performance benchmarks of bench/README.md against
 * the real stack this process starts (Temporal dev server, embedded Postgres unless DATABASE_URL,
 * the platform's gateway and worker, a local stub service). Prints a markdown table with each
 * target beside its figure and writes bench/results/<timestamp>.json and bench/results/latest.json.
 * Exits non-zero only when a benchmark crashes; a missed target is printed, not fatal.
 */
// Tracing when OTEL_EXPORTER_OTLP_ENDPOINT is set, as the entry points do (bench/README.md "Tracing").
import '../platform/tracing-start';
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { p1 } from './p1-fanout';
import { p2 } from './p2-reads';
import { p3 } from './p3-latency';
import { p4 } from './p4-resources';
import { p5 } from './p5-costs';
import { markdownTable, type Benchmark, type Row } from './report';
import { startPlatform, startServices, startStubService } from './stack';

const ALL: Benchmark[] = [p1, p2, p3, p4, p5];

const log = (m: string): void => {
  process.stderr.write(`[bench] ${m}\n`);
};

function machine() {
  const cpu = os.cpus()[0]?.model ?? 'unknown';
  let commit = 'unknown';
  try {
    commit = execSync('git rev-parse --short HEAD', { cwd: __dirname, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    // not a git checkout
  }
  return { cpu, cores: os.cpus().length, loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))), memoryGb: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.platform()} ${os.arch()}`, commit };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const names = args.filter((a) => !a.startsWith('-')).map((a) => a.toLowerCase());
  const unknown = names.filter((n) => !ALL.some((b) => b.name === n));
  if (unknown.length) {
    console.error(`unknown benchmark ${unknown.join(', ')}; one of ${ALL.map((b) => b.name).join(', ')}`);
    process.exit(2);
  }
  const selected = names.length ? ALL.filter((b) => names.includes(b.name)) : ALL;
  const started = Date.now();
  const services = await startServices(log);
  const stub = await startStubService(true);
  const platform = await startPlatform(services, { worker: true });
  const rows: Row[] = [];
  const failures: string[] = [];
  try {
    for (const b of selected) {
      log(`${b.title}${quick ? ' (quick)' : ''}`);
      const t = Date.now();
      try {
        rows.push(...(await b.run({ quick, services, platform, stub, log })));
      } catch (err) {
        failures.push(`${b.name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        log(`${b.name} crashed: ${err instanceof Error ? err.message : String(err)}`);
      }
      log(`${b.name} took ${((Date.now() - t) / 1000).toFixed(1)} s`);
    }
  } finally {
    await platform.stop();
    await stub.close();
    await services.stop();
  }
  const m = machine();
  const table = markdownTable(rows);
  process.stdout.write(`\n${quick ? 'Quick run (scaled-down sizes; figures are not comparable to the targets). ' : ''}` +
    `${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB, Node ${m.node}, commit ${m.commit}; load average at the end ${m.loadAverage.join(' ')} (other processes share the cores)\n\n${table}\n`);
  for (const r of rows.filter((r) => r.note)) process.stdout.write(`\n- ${r.id}: ${r.note}`);
  process.stdout.write('\n');

  const dir = path.join(__dirname, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const result = { at: new Date().toISOString(), quick, machine: m, seconds: Math.round((Date.now() - started) / 1000), rows, failures };
  const file = path.join(dir, `${result.at.replace(/[:.]/g, '-')}${quick ? '-quick' : ''}.json`);
  fs.writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  fs.writeFileSync(path.join(dir, 'latest.json'), JSON.stringify(result, null, 2) + '\n');
  log(`written ${path.relative(process.cwd(), file)} in ${result.seconds} s`);
  if (failures.length) {
    console.error(`\n${failures.length} benchmark(s) crashed:\n${failures.join('\n')}`);
    process.exit(1);
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
