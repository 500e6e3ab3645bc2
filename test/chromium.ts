/** A headless Chromium for the tests' own use (reading the dashboard), found as the workers find theirs (CHROMIUM_PATH, else the packaged one), without the workers' egress proxy. */
import type { Browser } from 'playwright-core';
import { chromiumExecutable, playwright } from '../activities/browser/engines';

export async function launchChromium(): Promise<Browser> {
  const exe = await chromiumExecutable({ chromiumPath: process.env.CHROMIUM_PATH });
  return (await playwright()).chromium.launch({ executablePath: exe.path, args: exe.args.filter((a) => !a.startsWith('--host-resolver-rules')), headless: true });
}
