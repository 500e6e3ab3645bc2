/** A headless Chromium for the tests' own use (reading the dashboard), found as the workers find theirs (CHROMIUM_PATH, else the packaged one), without the workers' egress proxy. */
import type { Browser } from 'playwright-core';
import { chromiumExecutable, playwright } from '../activities/browser/engines';

export async function launchChromium(): Promise<Browser> {
  const exe = await chromiumExecutable({ chromiumPath: process.env.CHROMIUM_PATH });
  const { chromium } = await playwright();
  const options = { executablePath: exe.path, args: exe.args.filter((a) => !a.startsWith('--host-resolver-rules')), headless: true };
  // As a worker's launch: a start that crashes (seen under load) is tried once more.
  return chromium.launch(options).catch(() => chromium.launch(options));
}
