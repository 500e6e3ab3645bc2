/**
 * The Playwright trace of one browser or scan attempt (`trace.zip`, opened by `npx playwright
 * show-trace`): screenshots as a screencast, DOM snapshots before and after each action, the
 * network (with request bodies) and the console. A trace records what was typed and sent, so
 * before it is kept every secret value is masked in it (`maskTrace`):
 *
 * - every entry's text is searched for each secret value as typed and in the forms traffic and
 *   snapshots carry it (JSON-escaped, URL- and form-encoded, HTML-escaped), each replaced by `***`;
 *   a JSON-lines entry (`trace.trace`, `trace.network`) is read line by line so a string that is a
 *   short secret as a whole is masked too (as `redactor` does everywhere else);
 * - screencast frames from the first action that typed a secret on are dropped: pixels cannot be
 *   searched, and a secret typed into a plain text field would show in them. The DOM snapshots,
 *   masked, still show each later action.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { strFromU8, strToU8, unzipSync, zipSync, type Zippable } from 'fflate';
import type { BrowserContext } from 'playwright-core';
import { MASK } from '../../domain/secrets';

/** A trace larger than this is not kept (a long attempt's screencast); the step's other records are. */
export const MAX_TRACE_BYTES = 25 * 1024 * 1024;
/** Values shorter than this are masked only where a whole string equals them (domain/secrets.ts). */
const MIN_SUBSTRING = 4;
const JSON_LINES = /\.(trace|network|stacks)$/;
/** Playwright calls that type or choose a value. */
const TYPING = new Set(['fill', 'type', 'pressSequentially', 'selectOption', 'setInputFiles']);

/** Starts recording the context's trace; false when the browser cannot (the attempt runs untraced). */
export async function startTrace(context: BrowserContext, title: string): Promise<boolean> {
  try {
    await context.tracing.start({ screenshots: true, snapshots: true, sources: false, title });
    return true;
  } catch {
    return false;
  }
}

/** Stops the context's trace and reads it, or null when there is none to keep (failed, too large). */
export async function stopTrace(context: BrowserContext): Promise<Buffer | null> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'flowruns-trace-'));
  try {
    const file = path.join(dir, 'trace.zip');
    await context.tracing.stop({ path: file });
    const { size } = await fs.stat(file);
    return size > MAX_TRACE_BYTES ? null : await fs.readFile(file);
  } catch {
    return null;
  } finally {
    await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

const htmlEscaped = (v: string): string => v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The forms a value takes in what a page sends and shows, longest first. */
export function encodedForms(value: string): string[] {
  const forms = [
    value,
    JSON.stringify(value).slice(1, -1),
    encodeURIComponent(value),
    encodeURI(value),
    new URLSearchParams({ v: value }).toString().slice(2),
    htmlEscaped(value),
    htmlEscaped(value).replace(/'/g, '&#39;'),
  ];
  return [...new Set(forms)].sort((a, b) => b.length - a.length);
}

const replaceAll = (text: string, forms: readonly string[]): string => forms.reduce((out, f) => (out.includes(f) ? out.split(f).join(MASK) : out), text);

/** A JSON-lines entry with every string masked; a line that does not parse is masked as text. */
function maskJsonLines(text: string, forms: readonly string[], exact: ReadonlySet<string>): string {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return exact.has(v) ? MASK : replaceAll(v, forms);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return text
    .split('\n')
    .map((line) => {
      if (!line) return line;
      try {
        return JSON.stringify(walk(JSON.parse(line)));
      } catch {
        return replaceAll(line, forms);
      }
    })
    .join('\n');
}

/** When the first call that typed one of `values` began (the trace's monotonic clock), or null. */
function firstSecretTyping(traceText: string, values: readonly string[]): number | null {
  let first: number | null = null;
  for (const line of traceText.split('\n')) {
    if (!line.includes('"before"')) continue;
    try {
      const e = JSON.parse(line) as { type?: string; method?: string; startTime?: number; params?: unknown };
      if (e.type !== 'before' || !TYPING.has(e.method ?? '') || typeof e.startTime !== 'number') continue;
      const params = JSON.stringify(e.params ?? {});
      if (values.some((v) => (v.length >= MIN_SUBSTRING ? params.includes(JSON.stringify(v).slice(1, -1)) : params.includes(JSON.stringify(v)))))
        first = first === null ? e.startTime : Math.min(first, e.startTime);
    } catch {
      // not an event line
    }
  }
  return first;
}

/** Drops the screencast frames recorded from `since` on, and their images. */
function dropFramesSince(files: Zippable, traceName: string, since: number): void {
  const kept: string[] = [];
  for (const line of strFromU8(files[traceName] as Uint8Array).split('\n')) {
    if (line.includes('"screencast-frame"')) {
      try {
        const e = JSON.parse(line) as { type?: string; timestamp?: number; file?: string; sha1?: string };
        if (e.type === 'screencast-frame' && (e.timestamp ?? Infinity) >= since) {
          const image = e.file ?? (e.sha1 ? `resources/${e.sha1}` : undefined);
          if (image) delete files[image];
          continue;
        }
      } catch {
        // kept as it is
      }
    }
    kept.push(line);
  }
  files[traceName] = strToU8(kept.join('\n'));
}

/** `zip` (a Playwright trace) with every secret value masked and no screencast frame after one was typed. */
export function maskTrace(zip: Uint8Array, values: readonly string[]): Uint8Array {
  const secrets = [...new Set(values.filter((v) => v.length > 0))];
  if (secrets.length === 0) return zip;
  const files: Zippable = unzipSync(zip);
  const forms = [...new Set(secrets.filter((v) => v.length >= MIN_SUBSTRING).flatMap(encodedForms))].sort((a, b) => b.length - a.length);
  const exact = new Set(secrets);
  for (const name of Object.keys(files).filter((n) => JSON_LINES.test(n) && !n.includes('/'))) {
    const text = strFromU8(files[name] as Uint8Array);
    const since = name.endsWith('.trace') ? firstSecretTyping(text, secrets) : null;
    files[name] = strToU8(maskJsonLines(text, forms, exact));
    if (since !== null) dropFramesSince(files, name, since);
  }
  const byteForms = forms.map((f) => Buffer.from(f));
  for (const [name, data] of Object.entries(files)) {
    if (JSON_LINES.test(name) && !name.includes('/')) continue;
    let buf = Buffer.from(data as Uint8Array);
    for (const f of byteForms) {
      if (buf.indexOf(f) < 0) continue;
      const parts: Buffer[] = [];
      let from = 0;
      for (let at = buf.indexOf(f); at >= 0; at = buf.indexOf(f, from)) {
        parts.push(buf.subarray(from, at), Buffer.from(MASK));
        from = at + f.length;
      }
      parts.push(buf.subarray(from));
      buf = Buffer.concat(parts);
    }
    files[name] = new Uint8Array(buf);
  }
  // Images are compressed already: stored as they are.
  for (const name of Object.keys(files)) if (/\.(jpe?g|png)$/.test(name)) files[name] = [files[name] as Uint8Array, { level: 0 }];
  return zipSync(files, { level: 6 });
}
