/**
 * Where the running `npm run dev` stack can be reached, kept in the data directory while it is up,
 * so `npm run worker` or `npm run agent -- --name NAME` in another terminal joins it with no configuration.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parsePayloadKeys, type PayloadKey } from '../../platform/payload-codec';

export interface DevStack {
  databaseUrl: string;
  temporalAddress: string;
  /** The payload keys in force, so a joining worker reads and writes the same payloads. */
  payloadKeys?: PayloadKey[];
  /** The gateway and its admin key (account `default`), which a joining agent registers with. */
  gatewayUrl?: string;
  adminKey?: string;
}

const fileOf = (dataDir: string): string => path.join(dataDir, 'dev-stack.json');

export function writeDevStack(dataDir: string, stack: DevStack): () => void {
  const file = fileOf(dataDir);
  const payloadKeys = stack.payloadKeys?.map((k) => `${k.id}=${k.key.toString('base64')}`).join(',');
  fs.writeFileSync(file, JSON.stringify({ ...stack, payloadKeys }, null, 2) + '\n', { mode: 0o600 });
  return () => fs.rmSync(file, { force: true });
}

/** The stack `npm run dev` wrote, or undefined when none is up. */
export function readDevStack(dataDir: string): DevStack | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(fileOf(dataDir), 'utf8')) as Partial<DevStack> & { payloadKeys?: string };
    if (typeof parsed.databaseUrl === 'string' && typeof parsed.temporalAddress === 'string')
      return {
        databaseUrl: parsed.databaseUrl,
        temporalAddress: parsed.temporalAddress,
        ...(parsed.payloadKeys ? { payloadKeys: parsePayloadKeys(parsed.payloadKeys) } : {}),
        ...(typeof parsed.gatewayUrl === 'string' ? { gatewayUrl: parsed.gatewayUrl } : {}),
        ...(typeof parsed.adminKey === 'string' ? { adminKey: parsed.adminKey } : {}),
      };
  } catch {
    // no stack file: nothing to join
  }
  return undefined;
}
