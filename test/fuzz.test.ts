/**
 * Requests generated from the OpenAPI document — values drawn from each operation's schemas, then
 * broken on purpose (wrong types, huge and odd strings, NUL bytes, deep nesting, missing fields,
 * other methods) — never get a 5xx, and the platform is healthy afterwards. Seeded, so a failure
 * replays: FUZZ_SEED=<n>.
 */
import { withStack } from './harness';

const TOTAL = 5_000;
const CONCURRENCY = 8;
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);

const stack = withStack({ account: true });

/** mulberry32: small, seeded, good enough to spread cases. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Schema = Record<string, any>;

function fuzzer(rand: () => number, defs: Record<string, Schema>) {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const odd: unknown[] = [
    '',
    ' ',
    'x'.repeat(5000),
    '\u0000nul',
    '../../etc/passwd',
    '{{ $f:=function($n){$f($n+1)};$f(0) }}',
    '${env:MISSING}',
    '日本語🙂',
    '<script>alert(1)</script>',
    "' OR 1=1 --",
    -1,
    0,
    1e308,
    -0.5,
    true,
    null,
    [],
    {},
    JSON.parse('['.repeat(200) + ']'.repeat(200)),
    JSON.parse('{"a":'.repeat(200) + '1' + '}'.repeat(200)),
  ];
  const deref = (s: Schema): Schema => (s?.$ref ? (defs[s.$ref.split('/').pop()] ?? {}) : (s ?? {}));
  const value = (schema: Schema, depth: number): unknown => {
    const s = deref(schema);
    if (rand() < 0.12 || depth > 6) return pick(odd);
    const variants = s.anyOf ?? s.oneOf;
    if (variants) return value(pick(variants), depth + 1);
    if (s.enum) return pick(s.enum);
    if (s.const !== undefined) return s.const;
    const type = Array.isArray(s.type) ? pick(s.type) : s.type;
    switch (type) {
      case 'string':
        return s.format === 'date-time' ? new Date(Date.now() + (rand() - 0.5) * 1e10).toISOString() : pick(['a', 'flow-1', 'GET', 'x'.repeat(Math.floor(rand() * 300)), String(rand())]);
      case 'integer':
      case 'number':
        return pick([0, 1, 10, 100, 101, -1, Math.floor(rand() * 1e6)]);
      case 'boolean':
        return rand() < 0.5;
      case 'array':
        return Array.from({ length: Math.floor(rand() * 4) }, () => value(s.items ?? {}, depth + 1));
      case 'object':
      default: {
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries<Schema>(s.properties ?? {})) if ((s.required ?? []).includes(k) ? rand() < 0.9 : rand() < 0.5) out[k] = value(v, depth + 1);
        if (rand() < 0.1) out[pick(['extra', '__proto__', 'constructor'])] = pick(odd);
        return out;
      }
    }
  };
  return { pick, value };
}

it(`when ${TOTAL} requests are generated from the OpenAPI document, then none gets a 5xx and the platform stays healthy (seed ${SEED})`, async () => {
  const doc = (await stack.call('GET', '/openapi.json', undefined, null)).body;
  const rand = random(SEED);
  const { pick, value } = fuzzer(rand, doc.components?.schemas ?? {});
  // Event streams stay open while what they follow runs (an external run the fuzz made may never end): test/events.test.ts covers them.
  const ops = Object.entries<Record<string, any>>(doc.paths)
    .filter(([path]) => !path.endsWith('/events'))
    .flatMap(([path, methods]) => Object.entries<any>(methods).map(([method, op]) => ({ path, method, op })));
  expect(ops.length).toBeGreaterThan(30);

  const request = () => {
    const { path, method, op } = pick(ops);
    const url = path.replace(/\{(\w+)\}/g, () => encodeURIComponent(String(pick(['1', 'a-flow', 'x'.repeat(300), '%00', '..', randomId()]))));
    const params = new URLSearchParams();
    for (const p of op.parameters ?? []) if (p.in === 'query' && rand() < 0.7) params.set(p.name, String(value(p.schema, 0)));
    const bodySchema = op.requestBody?.content?.['application/json']?.schema;
    const body = bodySchema ? (rand() < 0.1 ? pick(['{not json', '[]', '"', 'null']) : JSON.stringify(value(bodySchema, 0))) : undefined;
    const m = rand() < 0.05 ? pick(['PATCH', 'PUT', 'DELETE', 'OPTIONS', 'HEAD']) : method.toUpperCase();
    return { method: m, path: `${url}${params.size ? `?${params}` : ''}`, body: m === 'GET' || m === 'HEAD' ? undefined : body };
  };
  const randomId = () => Math.floor(rand() * 1e9).toString(36);

  const failures: string[] = [];
  let sent = 0;
  const lane = async (): Promise<void> => {
    while (sent < TOTAL && failures.length < 5) {
      sent++;
      const r = request();
      const res = await stack.call(r.method, r.path, r.body, rand() < 0.95 ? stack.key : null);
      if (res.status >= 500) failures.push(`${r.method} ${r.path} ${String(r.body).slice(0, 300)} → ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));

  expect(failures).toEqual([]);
  expect(sent).toBeGreaterThanOrEqual(TOTAL);
  expect((await stack.call('GET', '/healthz', undefined, null)).status).toBe(200);
  expect((await stack.call('POST', '/api/v1/flows', { id: 'after-fuzz', steps: [{ id: 't', type: 'transform', config: { expression: '1' } }] }, stack.key)).status).toBe(201);
}, 240_000);
