/**
 * Lighthouse scores of a page, from the `lighthouse` package run offline against the worker's
 * Chromium. Lighthouse is ES modules only and heavy, so it runs in a node child process of its
 * own, with a deadline; it launches its own Chromium (same executable) on a debugging port.
 * Scores are 0–100, null where Lighthouse could not score a category. Its browser reaches the
 * network only through the attempt's egress proxy.
 */
import { execFile } from 'node:child_process';
import { chromiumExecutable, type EnginePaths } from './engines';

export interface LighthouseScores {
  performance: number | null;
  accessibility: number | null;
  best_practices: number | null;
  seo: number | null;
}

const SCRIPT = `
const [{ default: lighthouse }, chromeLauncher] = await Promise.all([import('lighthouse'), import('chrome-launcher')]);
const job = JSON.parse(process.argv[1]);
const chrome = await chromeLauncher.launch({ chromePath: job.chromePath, chromeFlags: job.chromeFlags });
try {
  const result = await lighthouse(job.url, { port: chrome.port, output: 'json', logLevel: 'error', onlyCategories: ['performance', 'accessibility', 'best-practices', 'seo'] });
  const score = (id) => { const s = result?.lhr.categories[id]?.score; return typeof s === 'number' ? Math.round(s * 100) : null; };
  console.log(JSON.stringify({ performance: score('performance'), accessibility: score('accessibility'), best_practices: score('best-practices'), seo: score('seo'), error: result?.lhr.runtimeError?.message ?? null }));
} finally {
  await chrome.kill();
}
`;

/** Flags lighthouse's Chromium must not get: chrome-launcher picks the port and the profile itself. */
const OWN_FLAGS = /^--(remote-debugging-|user-data-dir|single-process)/;

/** Lighthouse's Chromium goes through the attempt's egress proxy (`proxyUrl`) like the step's own, loopback included. */
export async function lighthouseScores(url: string, paths: EnginePaths, proxyUrl: string, timeoutMs: number, signal: AbortSignal): Promise<LighthouseScores> {
  const exe = await chromiumExecutable(paths);
  const proxy = [`--proxy-server=${proxyUrl}`, '--proxy-bypass-list=<-loopback>'];
  const job = { url, chromePath: exe.path, chromeFlags: [...exe.args.filter((a) => !OWN_FLAGS.test(a)), ...proxy, '--headless=new'] };
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', SCRIPT, JSON.stringify(job)],
      { cwd: __dirname, encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL', signal, maxBuffer: 1024 * 1024 },
      (err, out, errText) => (err ? reject(new Error(`lighthouse failed: ${(errText || err.message).trim().split('\n').slice(-3).join(' ')}`)) : resolve(out)),
    );
  });
  const parsed = JSON.parse(stdout.trim().split('\n').pop()!) as LighthouseScores & { error: string | null };
  if (parsed.error) throw new Error(`lighthouse could not audit ${url}: ${parsed.error}`);
  const { error: _e, ...scores } = parsed;
  return scores;
}
