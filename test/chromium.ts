/** A headless Chromium for tests, found as the workers find theirs (CHROMIUM_PATH, else the packaged one). */
import type { Browser } from 'playwright-core';
import { launchEngine } from '../activities/browser/engines';

export const launchChromium = (): Promise<Browser> => launchEngine('chromium', { chromiumPath: process.env.CHROMIUM_PATH });
