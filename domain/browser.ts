/** Browsers a trigger may name, and the aliases CI systems spell them with. */
export const BROWSERS = ['chrome', 'chromium', 'firefox', 'edge'] as const;
export type Browser = (typeof BROWSERS)[number];

const ALIASES: Record<string, Browser> = {
  chrome: 'chrome',
  'google chrome': 'chrome',
  chromium: 'chromium',
  firefox: 'firefox',
  'mozilla firefox': 'firefox',
  edge: 'edge',
  msedge: 'edge',
  'microsoft edge': 'edge',
};

/** The canonical browser for a name as a client may spell it, or undefined. */
export const normalizeBrowser = (name: string): Browser | undefined => ALIASES[name.trim().toLowerCase()];
