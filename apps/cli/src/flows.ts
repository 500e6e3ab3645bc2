/**
 * `flowruns flows validate|apply`: definitions as files. `apply` creates or updates what changed
 * and leaves the rest; each definition prints `+ created`, `~ changed` or `= unchanged`;
 * `--dry-run` says the same and changes nothing; `--prune` deletes the account's flows that no
 * file names (`- deleted`).
 */
import type { Command } from 'commander';
import type { FlowRunsClient } from './client';
import type * as Definitions from './definitions';
import type { Definition } from './definitions';
import { clientOf, FAILED, PASSED, type GlobalOptions, type Io } from './io';

/** Definition files need zod, yaml and the flow schema: loaded only by these commands, so `run` starts fast. */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- lazily, on purpose
const readDefinitions = (target: string, io: Io) => (require('./definitions') as typeof Definitions).readDefinitions(target, io);

/** JSON with object keys sorted, so equal definitions compare equal. */
const canonical = (v: unknown): string =>
  JSON.stringify(v, (_k, value: unknown) =>
    value && typeof value === 'object' && !Array.isArray(value) ? Object.fromEntries(Object.entries(value as object).sort(([a], [b]) => a.localeCompare(b))) : value,
  );

/** Whether `current` holds everything `desired` says (objects may have more keys; arrays and values must match). */
function covers(current: unknown, desired: unknown): boolean {
  if (Array.isArray(desired)) return Array.isArray(current) && current.length === desired.length && desired.every((d, i) => covers(current[i], d));
  if (desired && typeof desired === 'object')
    return !!current && typeof current === 'object' && Object.entries(desired).every(([k, v]) => v === undefined || covers((current as Record<string, unknown>)[k], v));
  return current === desired;
}

const pick = (o: Record<string, unknown>, keys: readonly string[]) => Object.fromEntries(keys.filter((k) => o[k] !== undefined && o[k] !== null).map((k) => [k, o[k]]));

const FLOW_KEYS = ['id', 'name', 'type', 'description', 'variables', 'secrets', 'notify', 'configs', 'steps'] as const;
const SUITE_KEYS = ['name', 'flowIds', 'authFlowId', 'variables'] as const;
const SCHEDULE_KEYS = ['spec', 'timezone', 'startAt', 'endAt', 'jitterSeconds', 'trigger', 'overlap', 'catchupWindowSeconds', 'paused', 'note'] as const;
const SCHEDULE_DEFAULTS = { timezone: 'UTC', overlap: 'skip', catchupWindowSeconds: 60, paused: false };

/** Variables as the API stores them (strings), a secret's value as it shows it (`***`). */
function shownVariables(body: Record<string, unknown>): Record<string, string> {
  const secrets = new Set((body.secrets as string[] | undefined) ?? []);
  return Object.fromEntries(Object.entries((body.variables as Record<string, unknown>) ?? {}).map(([k, v]) => [k, secrets.has(k) ? '***' : String(v)]));
}

interface Plan {
  /** null: nothing of this id yet. */
  current: unknown | null;
  same: boolean;
  version?: number;
}

async function plan(client: FlowRunsClient, d: Definition): Promise<Plan> {
  if (d.kind === 'flow') {
    const current = await client.flow(d.id);
    const same = !!current && canonical(pick(current as Record<string, unknown>, FLOW_KEYS)) === canonical(pick(d.definition as unknown as Record<string, unknown>, FLOW_KEYS));
    return { current, same, ...(current ? { version: current.version } : {}) };
  }
  if (d.kind === 'suite') {
    const current = await client.suite(d.id);
    const desired = { flowIds: [], ...d.body, variables: shownVariables(d.body) };
    const same = !!current && canonical(pick(current as Record<string, unknown>, SUITE_KEYS)) === canonical(pick(desired, SUITE_KEYS));
    return { current, same };
  }
  // The API shows a schedule as Temporal keeps it (the trigger with its defaults filled in): what
  // the file says must be there, and what the API adds does not count as a change.
  const current = await client.schedule(d.id);
  const same = !!current && covers(pick(current as Record<string, unknown>, SCHEDULE_KEYS), pick({ ...SCHEDULE_DEFAULTS, ...d.body }, SCHEDULE_KEYS));
  return { current, same };
}

async function save(client: FlowRunsClient, d: Definition, exists: boolean): Promise<string> {
  if (d.kind === 'flow') return `version ${(await client.putFlow(d.id, d.body)).version}`;
  if (d.kind === 'suite') await client.putSuite(d.id, d.body as never, exists);
  else await client.putSchedule(d.id, d.body as never);
  return 'saved';
}

/** `flow` lines keep the plain `+ <id> created` shape; suites and schedules name their kind. */
const label = (d: Pick<Definition, 'kind' | 'id'>) => (d.kind === 'flow' ? d.id : `${d.kind} ${d.id}`);

export async function apply(client: FlowRunsClient, definitions: Definition[], opts: { dryRun?: boolean; prune?: boolean }, io: Io): Promise<number> {
  const dry = opts.dryRun ? 'dry run' : '';
  for (const d of definitions) {
    const p = await plan(client, d);
    if (p.same) {
      io.out(`= ${label(d)} unchanged${p.version ? ` (version ${p.version})` : ''}`);
      continue;
    }
    const verb = p.current ? 'changed' : 'created';
    if (dry) {
      io.out(`${p.current ? '~' : '+'} ${label(d)} ${verb} (${dry}${p.version ? `; now version ${p.version}` : ''})`);
      continue;
    }
    const saved = await save(client, d, !!p.current);
    io.out(`${p.current ? '~' : '+'} ${label(d)} ${verb} (${saved})`);
  }
  if (opts.prune) {
    const named = new Set(definitions.filter((d) => d.kind === 'flow').map((d) => d.id));
    for (const flow of await client.allFlows()) {
      if (named.has(flow.id)) continue;
      if (!dry) await client.deleteFlow(flow.id);
      io.out(`- ${flow.id} deleted${dry ? ` (${dry})` : ''}`);
    }
  }
  return PASSED;
}

export function addFlowCommands(cli: Command, globals: () => GlobalOptions, io: Io, act: <A extends unknown[]>(fn: (...args: A) => Promise<number>) => (...args: A) => Promise<void>): void {
  const flows = cli.command('flows').description('Flows, suites and schedules as files (.json, .yaml, .flow.ts)');
  flows
    .command('validate')
    .description('Check definition files as the API would, offline; exit 1 on any problem, each named by its path')
    .requiredOption('-f, --file <path>', 'a definition file or a directory of them')
    .action(act(async (opts: { file: string }) => {
      const { ok, definitions } = readDefinitions(opts.file, io);
      for (const d of definitions) io.out(`✓ ${d.file}: ${d.kind} ${d.id}`);
      return ok ? PASSED : FAILED;
    }));
  flows
    .command('apply')
    .description('Create or update flows, suites and schedules from files; what did not change is left alone')
    .requiredOption('-f, --file <path>', 'a definition file or a directory of them')
    .option('--dry-run', 'say what would be created, changed or deleted; change nothing')
    .option('--prune', "delete the account's flows that no file names")
    .action(act(async (opts: { file: string; dryRun?: boolean; prune?: boolean }) => {
      const { ok, definitions } = readDefinitions(opts.file, io);
      if (!ok) return FAILED;
      return apply(clientOf(globals(), io), definitions, opts, io);
    }));
}
