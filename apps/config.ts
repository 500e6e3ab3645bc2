/** Configuration, read from the environment once at boot; every default makes `npm run dev` work. */
import path from 'node:path';
import { z } from 'zod';
import { parsePayloadKeys, type PayloadKey } from './payload-codec';
import { DEFAULT_EXPRESSION_LIMITS, DEFAULT_MAX_QUEUED_PER_ACCOUNT, type ExpressionLimits } from '../activities/expressions';
import { DEFAULT_INLINE_OUTPUT_BYTES } from '../domain/output-refs';
import { DEFAULT_MAX_BODY_BYTES, parseEgressAllow } from '../activities/egress';
import { DEFAULT_RECORD_PATIENCE_MS } from '../activities/patience';
import { DEFAULT_BATCH_LIMITS, MAX_BATCH_RUNS, type BatchLimits } from '../domain/batch-plan';
import { s3KeyPrefix, type S3StoreOptions } from '../db/artifact-store';
import { DEFAULT_RUN_LIMITS, type RunLimits } from '../db/run-limits';
import type { DeadlockCheck } from './worker/workflow-threads';

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  /** Absolute base URL for links in responses; derived from the request when unset. */
  PUBLIC_URL: z.string().url().optional(),
  DATABASE_URL: z.string().optional(),
  TEMPORAL_ADDRESS: z.string().optional(),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TASK_QUEUE: z.string().default('flows'),
  FLOWRUNS_ADMIN_KEY: z.string().min(8, 'FLOWRUNS_ADMIN_KEY must be at least 8 characters').optional(),
  FLOWRUNS_DATA_DIR: z.string().default('.data'),
  /** The gateway an agent talks to (`npm run agent -- --name NAME`), its only way to the platform. */
  FLOWRUNS_URL: z.string().url().optional(),
  /** The account key (scope `run`) an agent works with; its attempts are that account's. */
  FLOWRUNS_API_KEY: z.string().optional(),
  /** Step attempts an agent runs at once. */
  FLOWRUNS_AGENT_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(2),
  MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().min(1).default(50),
  MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).optional(),
  FLOWRUNS_WORKFLOW_DEADLOCK_CHECK: z.enum(['sampled', 'per-call']).default('sampled'),
  FLOWRUNS_WORKFLOW_STACK_TRACES: z.enum(['on', 'off']).default('off'),
  LOG_LEVEL: z.enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR']).optional(),
  FLOWRUNS_EXPRESSION_TIMEOUT_MS: z.coerce.number().int().min(10).max(60_000).default(1000),
  FLOWRUNS_EXPRESSION_MAX_DEPTH: z.coerce.number().int().min(10).max(10_000).default(500),
  FLOWRUNS_EXPRESSION_MEMORY_MB: z.coerce.number().int().min(16).max(4096).default(128),
  /** Expressions of one account waiting for a worker's evaluator processes; one more fails its step. */
  FLOWRUNS_EXPRESSION_MAX_QUEUED_PER_ACCOUNT: z.coerce.number().int().min(1).max(1_000_000).default(DEFAULT_MAX_QUEUED_PER_ACCOUNT),
  /** Comma-separated CIDRs, addresses and host names http steps may reach besides public addresses. */
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
    }),
  /** `id=base64key[,…]`: AES-256-GCM keys for Temporal payloads, the first one sealing. */
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
    }),
  /** `off` runs without payload encryption when no keys are set (the gateway and worker refuse to start otherwise). */
  FLOWRUNS_PAYLOAD_ENCRYPTION: z.enum(['on', 'off']).default('on'),
  FLOWRUNS_OUTPUT_INLINE_BYTES: z.coerce.number().int().min(1024).max(1_500_000).default(DEFAULT_INLINE_OUTPUT_BYTES),
  /** Requests a minute per API key (a token bucket in each gateway); 0 turns the limit off. */
  FLOWRUNS_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).max(10_000_000).default(6000),
  /** Requests a minute per account, all its keys together; unset: five keys' worth; 0 turns it off. */
  FLOWRUNS_RATE_LIMIT_PER_ACCOUNT_PER_MINUTE: z.coerce.number().int().min(0).max(50_000_000).optional(),
  /** Event streams (`…/events`) an account has open at once on a gateway, all its keys together. */
  FLOWRUNS_MAX_STREAMS_PER_ACCOUNT: z.coerce.number().int().min(1).max(100_000).default(100),
  /** Live (not revoked, not expired) API keys an account may hold. */
  FLOWRUNS_MAX_KEYS_PER_ACCOUNT: z.coerce.number().int().min(1).max(1_000_000).default(100),
  /** How long a dashboard sign-in lasts, in hours (fractions allowed). */
  FLOWRUNS_DASHBOARD_SESSION_HOURS: z.coerce.number().positive().max(24 * 30).default(12),
  /** Dashboard sign-in attempts a minute per client address (a token bucket in each gateway); 0 turns the limit off. */
  FLOWRUNS_DASHBOARD_SIGNIN_PER_MINUTE: z.coerce.number().int().min(0).max(100_000).default(20),
  FLOWRUNS_HTTP_MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(1024 ** 3).default(DEFAULT_MAX_BODY_BYTES),
  /** Where the dashboard links a run's workflow: the Temporal UI. */
  FLOWRUNS_TEMPORAL_UI_URL: z.string().url().default('http://localhost:8233'),
  /** A worker serves Prometheus `/metrics` on this port; 0: not served (the gateway serves its own at /metrics). */
  FLOWRUNS_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  /** `host:port` where a worker serves the Temporal SDK's own Prometheus metrics (task latencies, pollers, cache); unset: not served. */
  FLOWRUNS_SDK_METRICS_ADDRESS: z.string().regex(/^[^:\s]+:\d{1,5}$/, 'must be host:port, e.g. 0.0.0.0:9464').optional(),
  /** How often an idle event stream (`…/events`) sends a keep-alive comment. */
  FLOWRUNS_SSE_HEARTBEAT_MS: z.coerce.number().int().min(100).max(300_000).default(15_000),
  /** Where screenshots, diff images and rendered pages are kept; `<FLOWRUNS_DATA_DIR>/artifacts` by default. */
  FLOWRUNS_ARTIFACTS_DIR: z.string().optional(),
  /** A bucket of an S3-compatible store for the artifact files instead of the directory; unset (or empty): the directory. */
  FLOWRUNS_ARTIFACTS_S3_BUCKET: z
    .string()
    .optional()
    .transform((v) => v || undefined)
    .pipe(z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name: 3-63 lowercase letters, digits, . and -').optional()),
  /** The S3-compatible server (MinIO, …), addressed path-style; unset: AWS S3 of the region. */
  FLOWRUNS_ARTIFACTS_S3_ENDPOINT: z
    .string()
    .optional()
    .transform((v) => v || undefined)
    .pipe(z.string().regex(/^https?:\/\/[^/\s]+/, 'an http(s) URL, e.g. http://minio:9000').optional()),
  FLOWRUNS_ARTIFACTS_S3_REGION: z.string().min(1).default('us-east-1'),
  /** Prepended to every object key in the bucket, e.g. `flowruns/prod`. */
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
    }),
  /** Another Chromium or Chrome for browser steps instead of the one in @sparticuz/chromium. */
  CHROMIUM_PATH: z.string().optional(),
  /** A Playwright-compatible Firefox; without it, runs that ask for firefox are refused. */
  FIREFOX_PATH: z.string().optional(),
  /** `auto`: Chromium's sandbox on unless the worker runs as root; `off`: never (a container without user namespaces). */
  FLOWRUNS_BROWSER_SANDBOX: z.enum(['auto', 'off']).default('auto'),
  /** How long a record written from a step waits out a Postgres outage before the step's attempt fails. */
  FLOWRUNS_RECORD_PATIENCE_MS: z.coerce.number().int().min(0).max(3_600_000).default(DEFAULT_RECORD_PATIENCE_MS),
  /** Browser pages a worker drives at once; further browser steps wait their turn. */
  FLOWRUNS_BROWSER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  /** A batch of more runs than this runs from a plan, in chunk workflows (domain/batch-plan.ts). */
  FLOWRUNS_BATCH_INLINE_RUNS: z.coerce.number().int().min(1).max(MAX_BATCH_RUNS).default(DEFAULT_BATCH_LIMITS.inlineRuns),
  /** Runs per chunk workflow of a large batch. */
  FLOWRUNS_BATCH_CHUNK_RUNS: z.coerce.number().int().min(1).max(2000).default(DEFAULT_BATCH_LIMITS.chunkRuns),
  /** Runs of one account that run at once; more wait their turn, queued. */
  FLOWRUNS_MAX_RUNNING_RUNS_PER_ACCOUNT: z.coerce.number().int().min(1).max(1_000_000).default(DEFAULT_RUN_LIMITS.maxRunningRunsPerAccount),
  /** Runs \`flow\` steps may start under one run, all depths together; past it the step fails. */
  FLOWRUNS_MAX_RUN_DESCENDANTS: z.coerce.number().int().min(0).max(1_000_000).default(DEFAULT_RUN_LIMITS.maxRunDescendants),
  /** Comma-separated origins (the Temporal UI's) allowed to call the codec endpoint from a browser. */
  FLOWRUNS_CODEC_CORS_ORIGINS: z
    .string()
    .default('http://localhost:8233,http://127.0.0.1:8233')
    .transform((v) => v.split(',').map((o) => o.trim().replace(/\/+$/, '')).filter(Boolean)),
});

export interface Config {
  port: number;
  host: string;
  publicUrl?: string;
  databaseUrl?: string;
  temporalAddress: string;
  /** True when TEMPORAL_ADDRESS was not given and the dev stack may start its own server. */
  temporalAddressDefaulted: boolean;
  namespace: string;
  taskQueue: string;
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
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    publicUrl: e.PUBLIC_URL?.replace(/\/$/, ''),
    databaseUrl: e.DATABASE_URL,
    temporalAddress: e.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
    temporalAddressDefaulted: e.TEMPORAL_ADDRESS === undefined,
    namespace: e.TEMPORAL_NAMESPACE,
    taskQueue: e.TASK_QUEUE,
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
