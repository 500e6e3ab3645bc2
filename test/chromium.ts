/**
 * A headless Chromium for tests: CHROMIUM_PATH when set, else the one inside the npm package
 * @sparticuz/chromium (no download at run time). That package is ES modules only, which jest's
 * CommonJS runtime cannot load, so its path and flags are read in a short node child process.
 */
import { execFileSync } from 'node:child_process';
import { chromium, type Browser } from 'playwright-core';

let found: { path: string; args: string[] } | undefined;

function locate(): { path: string; args: string[] } {
  const script = `import('@sparticuz/chromium').then(async ({ default: c }) => console.log(JSON.stringify({ path: await c.executablePath(), args: c.args })))`;
  const out = execFileSync(process.execPath, ['-e', script], { cwd: __dirname, encoding: 'utf8', timeout: 120_000 });
  return JSON.parse(out.trim().split('\n').pop()!) as { path: string; args: string[] };
}

export async function launchChromium(): Promise<Browser> {
  found ??= process.env.CHROMIUM_PATH ? { path: process.env.CHROMIUM_PATH, args: ['--no-sandbox'] } : locate();
  return chromium.launch({ executablePath: found.path, args: found.args, headless: true });
}
