/**
 * Where the running `npm run dev` stack can be reached, kept in the data directory while it is up,
 * so `npm run worker -- --agent NAME` in another terminal joins it with no configuration.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface DevStack {
  databaseUrl: string;
  temporalAddress: string;
}

const fileOf = (dataDir: string): string => path.join(dataDir, 'dev-stack.json');

export function writeDevStack(dataDir: string, stack: DevStack): () => void {
  const file = fileOf(dataDir);
  fs.writeFileSync(file, JSON.stringify(stack, null, 2) + '\n', { mode: 0o600 });
  return () => fs.rmSync(file, { force: true });
}

/** The stack `npm run dev` wrote, or undefined when none is up. */
export function readDevStack(dataDir: string): DevStack | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(fileOf(dataDir), 'utf8')) as Partial<DevStack>;
    if (typeof parsed.databaseUrl === 'string' && typeof parsed.temporalAddress === 'string')
      return { databaseUrl: parsed.databaseUrl, temporalAddress: parsed.temporalAddress };
  } catch {
    // no stack file: nothing to join
  }
  return undefined;
}
