/**
 * Definition files as `flows apply` and `flows validate` read them: `.json`, `.yaml`/`.yml` and
 * `.flow.ts` files (a directory is read recursively, sorted). A file holds one definition or a
 * list (YAML: also several `---` documents). A definition is a flow unless it says otherwise:
 * `kind: suite` or `kind: schedule` in JSON/YAML, `defineSuite()` / `defineSchedule()` in
 * TypeScript. `kind` is the file's, not the API's: it is removed before the body is sent.
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { flowInputSchema, toFlowDefinition } from '../../../domain/flow-definition';
import { Exit, FAILED, USAGE, type Io } from './io';
import { definitionsOfTsFile } from './load-ts';

export const KIND = Symbol.for('flowruns.kind');
export type Kind = 'flow' | 'suite' | 'schedule';

export interface Definition {
  kind: Kind;
  id: string;
  file: string;
  /** The body as the API takes it (no `kind`). */
  body: Record<string, unknown>;
  /** A flow's definition as stored, to compare with the account's. */
  definition?: ReturnType<typeof toFlowDefinition>;
}

const DEFINITION_FILE = /(\.flow\.ts|\.json|\.ya?ml)$/i;

/** One path, or every definition file under a directory (sorted, recursive, dot folders and node_modules skipped). */
export function definitionFiles(target: string): string[] {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(target);
  } catch {
    throw new Exit(USAGE, `no such file or directory: ${target}`);
  }
  if (!stat.isDirectory()) return [target];
  return fs
    .readdirSync(target, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) => {
      const full = path.join(target, e.name);
      if (e.isDirectory()) return e.name.startsWith('.') || e.name === 'node_modules' ? [] : definitionFiles(full);
      return DEFINITION_FILE.test(e.name) && !e.name.endsWith('.d.ts') ? [full] : [];
    });
}

function documentsOf(file: string): unknown[] {
  if (/\.ts$/i.test(file)) {
    try {
      return definitionsOfTsFile(file);
    } catch (err) {
      throw new Exit(FAILED, `${file}: could not load: ${(err as Error).message}`);
    }
  }
  const text = fs.readFileSync(file, 'utf8');
  const yaml = /\.ya?ml$/i.test(file);
  try {
    const docs = yaml ? YAML.parseAllDocuments(text).map((d) => {
      if (d.errors.length) throw d.errors[0];
      return d.toJS() as unknown;
    }) : [JSON.parse(text) as unknown];
    return docs.flatMap((d) => (Array.isArray(d) ? d : [d])).filter((d) => d !== null && d !== undefined);
  } catch (err) {
    throw new Exit(FAILED, `${file}: not valid ${yaml ? 'YAML' : 'JSON'}: ${(err as Error).message}`);
  }
}

const ID = /^[A-Za-z0-9_.-]{1,100}$/;

/** Checks one document offline (flows fully, as the API does; suites and schedules their shape) and names each problem by path. */
function check(doc: unknown, where: string, problems: string[]): Definition | undefined {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
    problems.push(`${where}: (root): expected an object`);
    return undefined;
  }
  const { kind: written, ...body } = doc as Record<string, unknown>;
  const kind = ((doc as Record<symbol, unknown>)[KIND] ?? written ?? 'flow') as Kind;
  if (!['flow', 'suite', 'schedule'].includes(kind)) {
    problems.push(`${where}: kind: expected flow, suite or schedule, got ${JSON.stringify(kind)}`);
    return undefined;
  }
  if (typeof body.id !== 'string' || !ID.test(body.id)) {
    problems.push(`${where}: id: a ${kind} file needs an id (letters, digits, _ . -)`);
    return undefined;
  }
  if (kind === 'flow') {
    const parsed = flowInputSchema.safeParse(body);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        // An unknown key is named by its own path, as the API names it (steps.0.config.methd).
        const keys = issue.code === 'unrecognized_keys' ? issue.keys : [undefined];
        for (const k of keys) problems.push(`${where}: ${[...issue.path, ...(k === undefined ? [] : [k])].join('.') || '(root)'}: ${k === undefined ? issue.message : 'unknown key'}`);
      }
      return undefined;
    }
    return { kind, id: body.id, file: where, body, definition: toFlowDefinition(parsed.data, body.id) };
  }
  const need = kind === 'suite' ? (['name'] as const) : (['spec', 'trigger'] as const);
  const missing = need.filter((k) => body[k] === undefined);
  if (missing.length) {
    problems.push(...missing.map((k) => `${where}: ${k}: required for a ${kind}`));
    return undefined;
  }
  return { kind, id: body.id, file: where, body };
}

/** Reads and checks every file; problems are printed, the valid definitions returned (flows, then suites, then schedules). */
export function readDefinitions(target: string, io: Io): { ok: boolean; definitions: Definition[] } {
  const problems: string[] = [];
  const definitions: Definition[] = [];
  for (const file of definitionFiles(target)) {
    const docs = documentsOf(file);
    docs.forEach((doc, i) => {
      const d = check(doc, docs.length > 1 ? `${file}[${i}]` : file, problems);
      if (d) definitions.push({ ...d, file });
    });
  }
  const seen = new Set<string>();
  for (const d of definitions) {
    if (seen.has(`${d.kind}:${d.id}`)) problems.push(`${d.file}: id: ${d.kind} ${d.id} is defined twice`);
    seen.add(`${d.kind}:${d.id}`);
  }
  for (const p of problems) io.err(p);
  const order: Kind[] = ['flow', 'suite', 'schedule'];
  return { ok: problems.length === 0, definitions: definitions.sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind)) };
}
