/** Configuration, read from the environment once at boot; every default makes `npm run dev` work. */
import path from 'node:path';
import { z } from 'zod';
import { parsePayloadKeys, type PayloadKey } from './payload-codec';
import { loadTemporalSettings, temporalEnvSchema, type TemporalSettings } from './temporal-connection';
import { DEFAULT_EXPRESSION_LIMITS, DEFAULT_MAX_QUEUED_PER_ACCOUNT, type ExpressionLimits } from '../activities/expressions';
import { DEFAULT_INLINE_OUTPUT_BYTES } from '../domain/output-refs';
import { DEFAULT_MAX_BODY_BYTES, parseEgressAllow } from '../activities/egress';
import { DEFAULT_RECORD_PATIENCE_MS } from '../activities/patience';
import { DEFAULT_BATCH_LIMITS, MAX_BATCH_RUNS, type BatchLimits } from '../domain/batch-plan';
import { s3KeyPrefix, type S3StoreOptions } from '../db/artifact-store';
import { DEFAULT_RUN_LIMITS, type RunLimits } from '../db/run-limits';

/**
 * Every variable the platform reads, each with `.meta({ description, unset? })`: what it does, and
 * (`unset`) what happens when it is not set and the schema has no default. docs/configuration.md's
 * table is rendered from these (`npm run docs:config`, apps/config-docs.ts; a unit test fails when
 * the doc is stale).
 */
export const configSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000).meta({
    description: "The gateway's port.",
  }),
  HOST: z.string().default('0.0.0.0').meta({
    description: "The gateway's bind address.",
  }),
  PUBLIC_URL: z.string().url().optional().meta({
    description: 'Absolute base URL used in links such as artifact URLs; set it behind a proxy so they point at the public address.',
    unset: 'from the request',
  }),
  DATABASE_URL: z.string().optional().meta({
    description: 'Postgres URL; required by `start:gateway` and `start:worker`.',
    unset: '— (`npm run dev` starts an embedded Postgres)',
  }),
  ...temporalEnvSchema.shape,
  TASK_QUEUE: z.string().default('flows').meta({
    description: "The workers' task queue.",
  }),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().optional().meta({
    description: 'Turns tracing on: the gateway and workers export OpenTelemetry traces over OTLP/HTTP to this base URL (`<endpoint>/v1/traces`), e.g. `http://127.0.0.1:4318`. The other `OTEL_*` variables (`OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, `OTEL_SERVICE_NAME`, `OTEL_TRACES_SAMPLER`, headers) apply as the OpenTelemetry SDK defines them.',
    unset: '— (no tracing; the OpenTelemetry SDK is not loaded)',
  }),
  FLOWRUNS_ADMIN_KEY: z.string().min(8, 'FLOWRUNS_ADMIN_KEY must be at least 8 characters').optional().meta({
    description: 'The admin key, at least 8 characters: it acts in the `default` account and is the only key that may create accounts. Without it the gateway accepts account keys only.',
    unset: '— (`npm run dev`: generated, kept in `.data/admin-key`)',
  }),
  FLOWRUNS_DATA_DIR: z.string().default('.data').meta({
    description: "`npm run dev`'s state: `temporal.db`, `pg/`, `admin-key`, `payload-keys`, `logs/`.",
  }),
  FLOWRUNS_URL: z.string().url().optional().meta({
    description: 'The gateway an agent (`npm run agent -- --name NAME`, or `npm run start:agent -- --name NAME` once built) talks to, e.g. `https://flows.example.com`.',
    unset: '— (next to `npm run dev`, with `FLOWRUNS_API_KEY` also unset: the dev gateway and its admin key, account `default`)',
  }),
  FLOWRUNS_API_KEY: z.string().optional().meta({
    description: 'A key (scope `run`) of the account an agent works for; revoked or expired, the agent stops at its next request.',
  }),
  FLOWRUNS_AGENT_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(2).meta({
    description: 'Step attempts an agent runs at once.',
  }),
  MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().min(1).default(50).meta({
    description: 'Activities a worker runs at once.',
  }),
  MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).optional().meta({
    description: 'Workflows a worker keeps in memory between their activations; an evicted one is replayed from its history at its next activation.',
    unset: "the Temporal SDK's (from the heap limit: about 2,300 on a 4 GB heap)",
  }),
  FLOWRUNS_WORKFLOW_DEADLOCK_CHECK: z.enum(['sampled', 'per-call']).default('per-call').meta({
    description: "How a worker notices workflow code that never yields. `per-call`: the Temporal SDK's own check, a watchdog thread started for every call (about 0.4 ms each, several per step), which fails only that workflow task. `sampled` (opt-in): its workflow threads count their calls into a workflow on shared memory and the worker looks once a second; a call still running after 5 s stops the thread and the worker exits with an error, to be restarted (the workflows go on from their histories). It relies on the SDK's internals as of @temporalio/worker 1.24.0 and the worker refuses to start with it on any other version.",
  }),
  FLOWRUNS_WORKFLOW_STACK_TRACES: z.enum(['on', 'off']).default('off').meta({
    description: "`on`: the Temporal UI's Stack Trace tab (the `__stack_trace` query) shows where a run's workflow waits, at the cost of a captured stack trace for every promise a workflow makes. `off`: the query answers that stack traces are not enabled on this worker. A run's steps and their states are in `GET /api/v1/runs/{id}` either way. Applies with `FLOWRUNS_WORKFLOW_DEADLOCK_CHECK=sampled` only: with the default `per-call` (the SDK's own threads) stack traces are on.",
  }),
  LOG_LEVEL: z.enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR']).optional().meta({
    description: "Level of the structured logs (`TRACE` … `ERROR`): one JSON object per line (pino) from the gateway and the workers, with `runId`, `batchId`, `accountId`, `stepId` where they apply, the Temporal SDK's own lines included; gateway requests are logged at `DEBUG`.",
    unset: '`INFO` (`WARN` under `npm run dev` and the tests)',
  }),
  FLOWRUNS_EXPRESSION_TIMEOUT_MS: z.coerce.number().int().min(10).max(60_000).default(1000).meta({
    description: 'Time budget of one JSONata evaluation (`if`, `transform`, `{{ }}`); past it the step fails without retry (`ExpressionLimit`), naming the step and the limit.',
  }),
  FLOWRUNS_EXPRESSION_MAX_DEPTH: z.coerce.number().int().min(10).max(10_000).default(500).meta({
    description: 'Deepest evaluation nesting (recursion) of one expression.',
  }),
  FLOWRUNS_EXPRESSION_MEMORY_MB: z.coerce.number().int().min(16).max(4096).default(128).meta({
    description: 'Heap of each expression evaluator process; an expression that outgrows it fails its step and the evaluator is replaced.',
  }),
  FLOWRUNS_EXPRESSION_MAX_QUEUED_PER_ACCOUNT: z.coerce.number().int().min(1).max(1_000_000).default(DEFAULT_MAX_QUEUED_PER_ACCOUNT).meta({
    description: "Expressions of one account waiting for a worker's evaluator processes; one more fails its step without retry (`ExpressionLimit`).",
  }),
  FLOWRUNS_EGRESS_ALLOW: z
    .string()
    .default('')
    .transform((v, ctx) => {
      try {
        return parseEgressAllow(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }).meta({
    description: 'What http steps, browsers (every connection a page makes) and webhooks may reach besides public addresses: comma-separated CIDRs, addresses and host names (`*.corp.example` for subdomains). Every other non-public address is refused, checked on the address actually connected and on every redirect hop; a refusal fails the step without retry (`EgressDenied`) naming the host and the address. See [the egress policy](operations.md#the-egress-policy).',
    unset: "nothing (`npm run dev` and the tests: `127.0.0.0/8,::1`; an agent's steps: every address unless it is set)",
  }),
  FLOWRUNS_PAYLOAD_KEYS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (!v) return undefined;
      try {
        return parsePayloadKeys(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }).meta({
    description: '`id=base64key[,id=base64key…]`: 32-byte AES-256-GCM keys encrypting every Temporal payload (inputs, results, activity arguments); the first seals, all open, so keys rotate by putting a new one first. Required by `start:gateway` and `start:worker`.',
    unset: '— (`npm run dev`: generated, kept in `.data/payload-keys`; tests: one per run)',
  }),
  FLOWRUNS_PAYLOAD_ENCRYPTION: z.enum(['on', 'off']).default('on').meta({
    description: '`off` lets the production entries start without `FLOWRUNS_PAYLOAD_KEYS` (payloads then reach Temporal in clear).',
  }),
  FLOWRUNS_OUTPUT_INLINE_BYTES: z.coerce.number().int().min(1024).max(1_500_000).default(DEFAULT_INLINE_OUTPUT_BYTES).meta({
    description: 'A step output larger than this (as JSON) is kept in Postgres (`step_outputs`) and passed to later steps by reference, never through Temporal payloads (2 MB limit).',
  }),
  FLOWRUNS_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).max(10_000_000).default(6000).meta({
    description: 'Requests a minute per API key (a token bucket in Postgres shared by every gateway, bursts of a sixth; replies carry `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` and `RateLimit-Policy`); `0` turns the limit off.',
  }),
  FLOWRUNS_RATE_LIMIT_PER_ACCOUNT_PER_MINUTE: z.coerce.number().int().min(0).max(50_000_000).optional().meta({
    description: 'Requests a minute of one account, all its keys together (same buckets, bursts of a sixth), so more keys do not buy more rate; `0` turns it off.',
    unset: 'five times `FLOWRUNS_RATE_LIMIT_PER_MINUTE` (30000)',
  }),
  FLOWRUNS_MAX_STREAMS_PER_ACCOUNT: z.coerce.number().int().min(1).max(100_000).default(100).meta({
    description: 'Event streams (`…/events`) one account may have open at once on all gateways together, all its keys together (each key: 20).',
  }),
  FLOWRUNS_MAX_KEYS_PER_ACCOUNT: z.coerce.number().int().min(1).max(1_000_000).default(100).meta({
    description: 'Live (not revoked, not expired) API keys one account may hold; creating one more is 409.',
  }),
  FLOWRUNS_DASHBOARD_SESSION_HOURS: z.coerce.number().positive().max(24 * 30).default(12).meta({
    description: 'How long a dashboard sign-in lasts, in hours (fractions allowed).',
  }),
  FLOWRUNS_DASHBOARD_SIGNIN_PER_MINUTE: z.coerce.number().int().min(0).max(100_000).default(20).meta({
    description: 'Dashboard sign-in attempts a minute per client address (and ten times that per connecting peer, so a forged `X-Forwarded-For` gains little); `0` turns the limit off.',
  }),
  FLOWRUNS_HTTP_MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(1024 ** 3).default(DEFAULT_MAX_BODY_BYTES).meta({
    description: 'Cap of one http step response body: past it the request is aborted and the step fails without retry (`ResponseTooLarge`), the network artifact noting it.',
  }),
  FLOWRUNS_TEMPORAL_UI_URL: z.string().url().default('http://localhost:8233').meta({
    description: "Where the dashboard links a run's workflow: the Temporal UI.",
  }),
  FLOWRUNS_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(0).meta({
    description: "A worker serves Prometheus `/metrics` on this port, with `/healthz` (its workers run) and `/readyz` (and Postgres answers) for probes; `0`: not served (the gateway always serves `/metrics`, and under `npm run dev` it includes the worker's).",
  }),
  FLOWRUNS_SDK_METRICS_ADDRESS: z.string().regex(/^[^:\s]+:\d{1,5}$/, 'must be host:port, e.g. 0.0.0.0:9464').optional().meta({
    description: "`host:port` where a worker serves the Temporal SDK's own Prometheus metrics (task latencies, pollers, cache), e.g. `0.0.0.0:9464`.",
    unset: '— (not served)',
  }),
  FLOWRUNS_SSE_HEARTBEAT_MS: z.coerce.number().int().min(100).max(300_000).default(15_000).meta({
    description: 'Interval of the keep-alive comment of an idle event stream (`…/events`).',
  }),
  FLOWRUNS_ARTIFACTS_DIR: z.string().optional().meta({
    description: 'Where screenshots, diff images, baselines and rendered pages are kept; the gateway serves them from the same directory, so in production it is a volume both mount.',
    unset: '`<FLOWRUNS_DATA_DIR>/artifacts`',
  }),
  FLOWRUNS_ARTIFACTS_S3_BUCKET: z
    .string()
    .optional()
    .transform((v) => v || undefined)
    .pipe(z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name: 3-63 lowercase letters, digits, . and -').optional()).meta({
    description: "Keep those files in this bucket of an S3-compatible store (AWS S3, MinIO, …) instead of `FLOWRUNS_ARTIFACTS_DIR`; gateway and workers need the same `FLOWRUNS_ARTIFACTS_S3_*` settings. Credentials come from the AWS SDK's default chain: `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`, a profile, an instance or task role. A read is capped at 64 MiB; a run's files are deleted by prefix with the run (delete, retention).",
    unset: '— (the directory)',
  }),
  FLOWRUNS_ARTIFACTS_S3_ENDPOINT: z
    .string()
    .optional()
    .transform((v) => v || undefined)
    .pipe(z.string().regex(/^https?:\/\/[^/\s]+/, 'an http(s) URL, e.g. http://minio:9000').optional()).meta({
    description: 'An S3-compatible server, `http(s)://host[:port]`, e.g. `http://minio:9000`, addressed path-style (`endpoint/bucket/key`).',
    unset: '— (AWS S3 of the region)',
  }),
  FLOWRUNS_ARTIFACTS_S3_REGION: z.string().min(1).default('us-east-1').meta({
    description: "The bucket's region.",
  }),
  FLOWRUNS_ARTIFACTS_S3_PREFIX: z
    .string()
    .default('')
    .transform((v, ctx) => {
      try {
        return s3KeyPrefix(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }).meta({
    description: 'Prepended to every object key (`flowruns/prod` → `flowruns/prod/runs/<runId>/<stepId>/<file>`): safe name segments only.',
  }),
  CHROMIUM_PATH: z.string().optional().meta({
    description: 'Another Chromium or Chrome for browser steps.',
    unset: 'the one in `@sparticuz/chromium`, unpacked into the temp directory on first use',
  }),
  FIREFOX_PATH: z.string().optional().meta({
    description: 'A Playwright-compatible Firefox; without it `browser: firefox` is refused for flows with browser steps.',
  }),
  FLOWRUNS_BROWSER_SANDBOX: z.enum(['auto', 'off']).default('auto').meta({
    description: "`auto`: Chromium's sandbox on wherever the worker is not root (the Docker image runs as `node`); `off`: never (a container that cannot have user namespaces).",
  }),
  FLOWRUNS_RECORD_PATIENCE_MS: z.coerce.number().int().min(0).max(3_600_000).default(DEFAULT_RECORD_PATIENCE_MS).meta({
    description: "How long a record written from inside a step waits out a Postgres outage (retried with backoff, heartbeating) before the step's attempt fails: a database down for a while delays records but never fails a step or repeats its call.",
  }),
  FLOWRUNS_BROWSER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2).meta({
    description: 'Browser pages a worker drives at once; more browser steps wait their turn.',
  }),
  FLOWRUNS_BATCH_INLINE_RUNS: z.coerce.number().int().min(1).max(MAX_BATCH_RUNS).default(DEFAULT_BATCH_LIMITS.inlineRuns).meta({
    description: 'A batch of more runs than this runs from a plan, in chunk workflows, its runs loading their definitions by reference (`domain/batch-plan.ts`).',
  }),
  FLOWRUNS_BATCH_CHUNK_RUNS: z.coerce.number().int().min(1).max(2000).default(DEFAULT_BATCH_LIMITS.chunkRuns).meta({
    description: 'Runs per chunk workflow of such a batch (about 8 history events each, and 3 more for the activity that takes its slot).',
  }),
  FLOWRUNS_MAX_RUNNING_RUNS_PER_ACCOUNT: z.coerce.number().int().min(1).max(1_000_000).default(DEFAULT_RUN_LIMITS.maxRunningRunsPerAccount).meta({
    description: "Runs of one account (of all its batches; a run's sub-flows ride on its slot) that run at once. More are not refused: they wait, `queued`, in the order they were triggered, their log saying `waiting: account has N runs running (FLOWRUNS_MAX_RUNNING_RUNS_PER_ACCOUNT=N)`, and start as runs end (within about 2 s). A queued run can be cancelled and never starts.",
  }),
  FLOWRUNS_MAX_RUN_DESCENDANTS: z.coerce.number().int().min(0).max(1_000_000).default(DEFAULT_RUN_LIMITS.maxRunDescendants).meta({
    description: 'Runs `flow` steps may start under one run, all depths together (sub-flows also nest at most 5 deep); the `flow` step that would start one more fails without retry (`FlowDescendants`), naming the bound and this variable.',
  }),
  FLOWRUNS_CODEC_CORS_ORIGINS: z
    .string()
    .default('http://localhost:8233,http://127.0.0.1:8233')
    .transform((v) => v.split(',').map((o) => o.trim().replace(/\/+$/, '')).filter(Boolean)).meta({
    description: "Comma-separated browser origins (the Temporal UI's) that may call the codec endpoint `/api/v1/codec/{decode,encode}`.",
  }),
});

/** How a worker notices a workflow that never yields (apps/worker/workflow-threads.ts); docs/configuration.md has both. */
export type DeadlockCheck = 'sampled' | 'per-call';

export interface Config {
  port: number;
  host: string;
  publicUrl?: string;
  databaseUrl?: string;
  temporalAddress: string;
  /** True when TEMPORAL_ADDRESS was not given and the dev stack may start its own server. */
  temporalAddressDefaulted: boolean;
  /** How to reach Temporal (platform/temporal-connection.ts): address, namespace, TLS, API key. */
  temporal: TemporalSettings;
  namespace: string;
  taskQueue: string;
  /** OTEL_EXPORTER_OTLP_ENDPOINT: traces are exported there when set (platform/tracing.ts). */
  otlpEndpoint?: string;
  adminKey?: string;
  dataDir: string;
  /** The gateway an agent talks to (FLOWRUNS_URL) and its account key (FLOWRUNS_API_KEY). */
  gatewayUrl?: string;
  apiKey?: string;
  /** Step attempts an agent runs at once (FLOWRUNS_AGENT_CONCURRENCY). */
  agentConcurrency: number;
  maxConcurrentActivities: number;
  /** Workflows a worker keeps in memory between their activations; unset, the SDK's default (from the heap limit). */
  maxCachedWorkflows?: number;
  /** How the worker notices a workflow that never yields (apps/worker/workflow-threads.ts). */
  workflowDeadlockCheck: DeadlockCheck;
  /** Whether the Temporal UI's stack-trace query works on the worker's workflows (FLOWRUNS_WORKFLOW_STACK_TRACES). */
  workflowStackTraces: boolean;
  /** Worker log level; unset lets each entry point pick (INFO for production, WARN for `npm run dev`). */
  logLevel?: 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** Bounds of one JSONata evaluation (`if`, `transform`, `{{ }}`). */
  expressionLimits: ExpressionLimits;
  /** FLOWRUNS_EGRESS_ALLOW's entries: what http steps may reach besides public addresses (nothing by default). */
  egressAllow: string[];
  /** Keys of the Temporal payload codec; unset means payloads go to Temporal in clear. */
  payloadKeys?: PayloadKey[];
  /** False only when FLOWRUNS_PAYLOAD_ENCRYPTION=off: the production entries then start without keys. */
  payloadEncryptionRequired: boolean;
  /** Step outputs larger than this travel between steps by reference to Postgres, not through Temporal. */
  inlineOutputBytes: number;
  /** Requests a minute per API key; 0: unlimited. */
  rateLimitPerMinute: number;
  /** Requests a minute per account, all its keys together; 0: unlimited. */
  rateLimitPerAccountPerMinute: number;
  /** Event streams one account may have open at once (FLOWRUNS_MAX_STREAMS_PER_ACCOUNT). */
  maxStreamsPerAccount: number;
  /** Live API keys one account may hold (FLOWRUNS_MAX_KEYS_PER_ACCOUNT). */
  maxKeysPerAccount: number;
  /** Lifetime of a dashboard session (FLOWRUNS_DASHBOARD_SESSION_HOURS). */
  dashboardSessionMs: number;
  /** Dashboard sign-in attempts a minute per client address (FLOWRUNS_DASHBOARD_SIGNIN_PER_MINUTE); 0: unlimited. */
  dashboardSignInPerMinute: number;
  /** Cap of one http response body (FLOWRUNS_HTTP_MAX_BODY_BYTES). */
  httpMaxBodyBytes: number;
  /** Browser origins (the Temporal UI's) the codec endpoint answers with CORS headers (FLOWRUNS_CODEC_CORS_ORIGINS). */
  codecCorsOrigins: string[];
  /** Keep-alive interval of the event streams (FLOWRUNS_SSE_HEARTBEAT_MS). */
  sseHeartbeatMs: number;
  /** Port of a worker's own `/metrics` (FLOWRUNS_METRICS_PORT); 0: none. */
  metricsPort: number;
  /** The Temporal UI the dashboard links to (FLOWRUNS_TEMPORAL_UI_URL). */
  temporalUiUrl: string;
  /** The artifact store's directory (FLOWRUNS_ARTIFACTS_DIR). */
  artifactsDir: string;
  /** The artifact store's bucket instead of the directory (FLOWRUNS_ARTIFACTS_S3_*); unset: the directory. */
  artifactsS3?: S3StoreOptions;
  chromiumPath?: string;
  firefoxPath?: string;
  /** FLOWRUNS_BROWSER_SANDBOX=off: Chromium without its sandbox even when the worker is not root. */
  browserSandboxOff: boolean;
  /** Browser pages per worker at once (FLOWRUNS_BROWSER_CONCURRENCY). */
  browserConcurrency: number;
  /** How long step records wait out a Postgres outage (FLOWRUNS_RECORD_PATIENCE_MS). */
  recordPatienceMs: number;
  /** Where a worker exports the Temporal SDK's metrics (FLOWRUNS_SDK_METRICS_ADDRESS). */
  sdkMetricsAddress?: string;
  /** When a batch runs from a plan, and in chunks of how many runs (FLOWRUNS_BATCH_INLINE_RUNS, FLOWRUNS_BATCH_CHUNK_RUNS). */
  batchLimits: BatchLimits;
  /** Per-account bounds (FLOWRUNS_MAX_RUNNING_RUNS_PER_ACCOUNT, FLOWRUNS_MAX_RUN_DESCENDANTS). */
  runLimits: RunLimits;
}

/** Unless set, an account's rate is this many keys' worth: making more keys does not multiply it further. */
const ACCOUNT_RATE_KEYS = 5;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const temporal = loadTemporalSettings(env);
  return {
    port: e.PORT,
    host: e.HOST,
    publicUrl: e.PUBLIC_URL?.replace(/\/$/, ''),
    databaseUrl: e.DATABASE_URL,
    temporalAddress: temporal.address,
    temporalAddressDefaulted: temporal.addressDefaulted,
    temporal,
    namespace: temporal.namespace,
    taskQueue: e.TASK_QUEUE,
    otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
    adminKey: e.FLOWRUNS_ADMIN_KEY,
    dataDir: path.resolve(e.FLOWRUNS_DATA_DIR),
    agentConcurrency: e.FLOWRUNS_AGENT_CONCURRENCY,
    gatewayUrl: e.FLOWRUNS_URL?.replace(/\/+$/, ''),
    apiKey: e.FLOWRUNS_API_KEY,
    maxConcurrentActivities: e.MAX_CONCURRENT_ACTIVITIES,
    maxCachedWorkflows: e.MAX_CACHED_WORKFLOWS,
    workflowDeadlockCheck: e.FLOWRUNS_WORKFLOW_DEADLOCK_CHECK,
    workflowStackTraces: e.FLOWRUNS_WORKFLOW_STACK_TRACES === 'on',
    logLevel: e.LOG_LEVEL,
    payloadKeys: e.FLOWRUNS_PAYLOAD_KEYS,
    inlineOutputBytes: e.FLOWRUNS_OUTPUT_INLINE_BYTES,
    rateLimitPerMinute: e.FLOWRUNS_RATE_LIMIT_PER_MINUTE,
    rateLimitPerAccountPerMinute: e.FLOWRUNS_RATE_LIMIT_PER_ACCOUNT_PER_MINUTE ?? e.FLOWRUNS_RATE_LIMIT_PER_MINUTE * ACCOUNT_RATE_KEYS,
    maxStreamsPerAccount: e.FLOWRUNS_MAX_STREAMS_PER_ACCOUNT,
    maxKeysPerAccount: e.FLOWRUNS_MAX_KEYS_PER_ACCOUNT,
    dashboardSessionMs: Math.round(e.FLOWRUNS_DASHBOARD_SESSION_HOURS * 3_600_000),
    dashboardSignInPerMinute: e.FLOWRUNS_DASHBOARD_SIGNIN_PER_MINUTE,
    payloadEncryptionRequired: e.FLOWRUNS_PAYLOAD_ENCRYPTION === 'on',
    expressionLimits: {
      ...DEFAULT_EXPRESSION_LIMITS,
      timeoutMs: e.FLOWRUNS_EXPRESSION_TIMEOUT_MS,
      maxDepth: e.FLOWRUNS_EXPRESSION_MAX_DEPTH,
      memoryMb: e.FLOWRUNS_EXPRESSION_MEMORY_MB,
      maxQueuedPerAccount: e.FLOWRUNS_EXPRESSION_MAX_QUEUED_PER_ACCOUNT,
    },
    egressAllow: e.FLOWRUNS_EGRESS_ALLOW,
    httpMaxBodyBytes: e.FLOWRUNS_HTTP_MAX_BODY_BYTES,
    codecCorsOrigins: e.FLOWRUNS_CODEC_CORS_ORIGINS,
    sseHeartbeatMs: e.FLOWRUNS_SSE_HEARTBEAT_MS,
    metricsPort: e.FLOWRUNS_METRICS_PORT,
    temporalUiUrl: e.FLOWRUNS_TEMPORAL_UI_URL.replace(/\/+$/, ''),
    artifactsDir: path.resolve(e.FLOWRUNS_ARTIFACTS_DIR ?? path.join(e.FLOWRUNS_DATA_DIR, 'artifacts')),
    artifactsS3: e.FLOWRUNS_ARTIFACTS_S3_BUCKET
      ? {
          bucket: e.FLOWRUNS_ARTIFACTS_S3_BUCKET,
          endpoint: e.FLOWRUNS_ARTIFACTS_S3_ENDPOINT,
          region: e.FLOWRUNS_ARTIFACTS_S3_REGION,
          prefix: e.FLOWRUNS_ARTIFACTS_S3_PREFIX,
        }
      : undefined,
    chromiumPath: e.CHROMIUM_PATH,
    firefoxPath: e.FIREFOX_PATH,
    browserSandboxOff: e.FLOWRUNS_BROWSER_SANDBOX === 'off',
    browserConcurrency: e.FLOWRUNS_BROWSER_CONCURRENCY,
    recordPatienceMs: e.FLOWRUNS_RECORD_PATIENCE_MS,
    sdkMetricsAddress: e.FLOWRUNS_SDK_METRICS_ADDRESS,
    batchLimits: { inlineRuns: e.FLOWRUNS_BATCH_INLINE_RUNS, chunkRuns: e.FLOWRUNS_BATCH_CHUNK_RUNS },
    runLimits: { maxRunningRunsPerAccount: e.FLOWRUNS_MAX_RUNNING_RUNS_PER_ACCOUNT, maxRunDescendants: e.FLOWRUNS_MAX_RUN_DESCENDANTS },
  };
}

/** The production entries refuse to send Temporal clear payloads unless told to. */
export function requirePayloadKeys(config: Config): void {
  if (config.payloadKeys || !config.payloadEncryptionRequired) return;
  throw new Error(
    'FLOWRUNS_PAYLOAD_KEYS is required: the key that encrypts what Temporal stores (generate one with ' +
      '`node -e "console.log(\'k1=\' + require(\'crypto\').randomBytes(32).toString(\'base64\'))"`); ' +
      'set FLOWRUNS_PAYLOAD_ENCRYPTION=off to run without encryption',
  );
}
