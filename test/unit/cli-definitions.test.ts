/**
 * Definition files as `flows apply` and `validate` read them (apps/cli/src/definitions.ts,
 * load-ts.ts), offline: kinds, lists and YAML documents, `.flow.ts` files loaded through sucrase
 * with `@flowruns/cli` and relative `.ts` imports, problems named by file and path.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readDefinitions } from '../../apps/cli/src/definitions';
import type { Io } from '../../apps/cli/src/io';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowruns-defs-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

function read(target: string) {
  const errors: string[] = [];
  const io: Io = { out: () => {}, err: (l) => errors.push(l), env: {}, tty: false };
  const { ok, definitions } = readDefinitions(target, io);
  return { ok, errors, found: definitions.map((d) => `${d.kind} ${d.id}`), definitions };
}

const flowYaml = (id: string) => `id: ${id}\nsteps:\n  - id: s\n    type: transform\n    config: { expression: "1" }\n`;

it('when a directory holds flows, suites and schedules in JSON, YAML documents and lists, then each is read by kind, flows first, kind left out of the body', () => {
  write('b/schedules.yaml', `kind: schedule\nid: nightly\nspec: { cron: "0 2 * * *" }\ntrigger: { app_id: a, flow_ids: [one] }\n`);
  write('a/suite.json', JSON.stringify([{ kind: 'suite', id: 'smoke', name: 'Smoke', flowIds: ['one'] }]));
  write('a/flows.yaml', `${flowYaml('one')}---\n${flowYaml('two')}`);
  write('node_modules/x.json', '{ "not": "read" }');
  write('notes.txt', 'ignored');
  const res = read(dir);
  expect(res).toMatchObject({ ok: true, errors: [] });
  expect(res.found).toEqual(['flow one', 'flow two', 'suite smoke', 'schedule nightly']);
  expect(res.definitions[2].body).toEqual({ id: 'smoke', name: 'Smoke', flowIds: ['one'] });
});

it('when a .flow.ts file imports @flowruns/cli and another .ts file, then it loads without a TypeScript toolchain', () => {
  write('shared/steps.ts', `export const ping = (url: string): { id: string; type: 'http'; config: { url: string } } => ({ id: 'ping', type: 'http', config: { url } });\n`);
  write(
    'flows/site.flow.ts',
    `import { defineFlow, defineSuite } from '@flowruns/cli';\nimport { ping } from '../shared/steps';\ninterface Ignored { a: number }\nexport default [defineFlow({ id: 'site', steps: [ping('https://example.com')] }), defineSuite({ id: 'all', name: 'All', flowIds: ['site'] })];\n`,
  );
  const res = read(path.join(dir, 'flows'));
  expect(res).toMatchObject({ ok: true, found: ['flow site', 'suite all'] });
  expect(res.definitions[0].body).toEqual({ id: 'site', steps: [{ id: 'ping', type: 'http', config: { url: 'https://example.com' } }] });
});

it('when definitions are wrong, then each problem names the file and the path; a .flow.ts that throws names the file', () => {
  write('typo.yaml', `id: typo\nsteps:\n  - id: s\n    type: http\n    config: { url: "https://x", methd: GET }\n`);
  write('noid.json', JSON.stringify({ steps: [] }));
  write('suite.yaml', 'kind: suite\nid: s\n');
  write('kind.yaml', 'kind: job\nid: j\n');
  const res = read(dir);
  expect(res.ok).toBe(false);
  expect(res.errors.sort()).toEqual(
    [
      `${path.join(dir, 'kind.yaml')}: kind: expected flow, suite or schedule, got "job"`,
      `${path.join(dir, 'noid.json')}: id: a flow file needs an id (letters, digits, _ . -)`,
      `${path.join(dir, 'suite.yaml')}: name: required for a suite`,
      `${path.join(dir, 'typo.yaml')}: steps.0.config.methd: unknown key`,
    ].sort(),
  );
  const broken = write('bad/broken.flow.ts', `throw new Error('no network here');\n`);
  expect(() => read(broken)).toThrow(`${broken}: could not load: no network here`);
});
