/** The `flowruns` CLI as a process of its own, as a CI job runs it (for the test/cli-*.test.ts files). */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import type { Loose } from './harness';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliProcess {
  /** Resolves once stderr has shown `text` (progress lines go to stderr). */
  saw(text: string | RegExp): Promise<string>;
  signal(sig: NodeJS.Signals): void;
  done: Promise<CliResult>;
}

/** The checkout's launcher (source through tsx, or the platform's build). */
export const CHECKOUT_BIN = path.join(__dirname, '..', 'bin', 'flowruns.js');

export function startCli(bin: string, args: string[], env: Record<string, string>, cwd?: string): CliProcess {
  const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, GITHUB_RUN_ID: '', CI_PIPELINE_ID: '', BUILD_TAG: '', ...env }, cwd });
  let stdout = '';
  let stderr = '';
  const waiters: { test: string | RegExp; resolve: (s: string) => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      if (typeof w.test === 'string' ? stderr.includes(w.test) : w.test.test(stderr)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(stderr);
      }
    }
  };
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    check();
  });
  const done = new Promise<CliResult>((resolve) => child.on('close', (code) => resolve({ code: code ?? 99, stdout, stderr })));
  return {
    saw: (test) =>
      new Promise((resolve, reject) => {
        waiters.push({ test, resolve });
        check();
        void done.then(() => reject(new Error(`the CLI ended before saying ${String(test)}:\n${stderr}`)));
      }),
    signal: (sig) => child.kill(sig),
    done,
  };
}

export const runCli = (bin: string, args: string[], env: Record<string, string>, cwd?: string): Promise<CliResult> => startCli(bin, args, env, cwd).done;

/** The batch id the CLI announces on stderr (`batch <id>: N run(s) started`). */
export const batchIdOf = (stderr: string): string => /batch (\S+): \d+ run\(s\) started/.exec(stderr)?.[1] ?? '';

export const parseJunit = (xml: string): Loose =>
  new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => ['testsuite', 'testcase', 'property', 'flakyFailure'].includes(name) }).parse(xml);
