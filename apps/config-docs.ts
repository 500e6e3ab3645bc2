/**
 * Renders docs/configuration.md's table of environment variables from the config schema
 * (platform/config.ts): name, default as the schema computes it, description from its `.meta()`.
 * `npm run docs:config` rewrites the table; `--check` exits 1 when the file is stale.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { configSchema } from '../platform/config';

export const CONFIG_DOC = path.join(__dirname, '..', 'docs', 'configuration.md');
export const BEGIN = '<!-- BEGIN GENERATED: npm run docs:config (from platform/config.ts) -->';
export const END = '<!-- END GENERATED -->';

interface VariableDoc {
  description: string;
  /** What happens when the variable is unset and the schema has no default. */
  unset?: string;
}

/** The default the schema applies to an unset variable (the raw value, before any transform), if any. */
function schemaDefault(field: z.ZodType): { value: unknown } | undefined {
  const def = field._zod.def as { type: string; defaultValue?: unknown; innerType?: z.ZodType; in?: z.ZodType };
  if (def.type === 'default') return { value: def.defaultValue };
  if (def.type === 'pipe' && def.in) return schemaDefault(def.in);
  if ((def.type === 'optional' || def.type === 'nullable') && def.innerType) return schemaDefault(def.innerType);
  return undefined;
}

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** One row per variable of the schema, in the schema's order. */
export function configRows(): { name: string; default: string; description: string }[] {
  return Object.entries(configSchema.shape).map(([name, field]) => {
    const meta = (field as z.ZodType).meta() as VariableDoc | undefined;
    if (!meta?.description) throw new Error(`platform/config.ts: ${name} has no .meta({ description })`);
    const d = schemaDefault(field as z.ZodType);
    const shown = d === undefined || d.value === '' ? undefined : `\`${String(d.value)}\``;
    return { name, default: shown ?? meta.unset ?? '—', description: meta.description };
  });
}

export function renderConfigTable(): string {
  const rows = configRows().map((r) => `| \`${r.name}\` | ${cell(r.default)} | ${cell(r.description)} |`);
  return [BEGIN, '| variable | default | what it does |', '| --- | --- | --- |', ...rows, END].join('\n');
}

/** The doc with its generated table replaced by the current one. */
export function renderConfigDoc(current: string): string {
  const start = current.indexOf(BEGIN);
  const end = current.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${CONFIG_DOC}: the markers ${BEGIN} … ${END} are missing`);
  return current.slice(0, start) + renderConfigTable() + current.slice(end + END.length);
}

if (require.main === module) {
  const current = fs.readFileSync(CONFIG_DOC, 'utf8');
  const next = renderConfigDoc(current);
  if (process.argv.includes('--check')) {
    if (next !== current) {
      console.error('docs/configuration.md is stale: run npm run docs:config');
      process.exit(1);
    }
  } else if (next !== current) {
    fs.writeFileSync(CONFIG_DOC, next);
    console.log('docs/configuration.md: table rewritten');
  } else {
    console.log('docs/configuration.md: up to date');
  }
}
