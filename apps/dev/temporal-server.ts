/**
 * A real Temporal server (not the dev server) for the production test tier and the benchmarks: the
 * cached `server` binary (temporal-server-binary.ts) on PostgreSQL (databases of its own on the
 * given Postgres, schemas set up and updated with temporal-sql-tool), a few history shards, a
 * dynamic-config file (events cache), and TLS on the frontend with certificates made with `openssl`
 * at start. Returns the TEMPORAL_* variables the gateway and workers read (platform/temporal-connection.ts).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import Long from 'long';
import { Client as PgClient } from 'pg';
import { ensureSearchAttributes } from '../../platform/search-attributes';
import { connectionOptions, loadTemporalSettings } from '../../platform/temporal-connection';
import { portInUse, sleep, tail, waitForExit } from './processes';
import { resolveTemporalServer, type TemporalServerFiles } from './temporal-server-binary';

export interface TemporalServerOptions {
  /** A Postgres URL of a role that may create databases (e.g. postgres://postgres@127.0.0.1:5432/postgres). */
  adminUrl: string;
  namespace?: string;
  numHistoryShards?: number;
  /** TLS on the frontend (default); false: plaintext, for clients that take an address only (the benchmarks). */
  tls?: boolean;
  log?: (m: string) => void;
}

export interface RunningTemporalServer {
  address: string;
  namespace: string;
  /** TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_SERVER_NAME. */
  env: Record<string, string>;
  /** Persistence and visibility database names. */
  databases: string[];
  dir: string;
  logFile: string;
  pid: number;
  stop(): Promise<void>;
}

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.error?.message ?? r.stderr}`);
}

/** A CA and a server certificate for localhost / 127.0.0.1 signed by it (EC P-256, two days). */
export function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=flowruns test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'], dir);
  fs.writeFileSync(path.join(dir, 'server.ext'), [
    'subjectAltName=DNS:localhost,IP:127.0.0.1', 'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment', 'extendedKeyUsage=serverAuth,clientAuth', '',
  ].join('\n'));
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext'], dir);
  return { ca: path.join(dir, 'ca.pem'), cert: path.join(dir, 'server.pem'), key: path.join(dir, 'server.key') };
}

interface Pg { host: string; port: string; user: string; password: string }

function sqlTool(files: TemporalServerFiles, pg: Pg, db: string, args: string[]): void {
  const r = spawnSync(files.sqlTool, ['--plugin', 'postgres12', '--ep', pg.host, '-p', pg.port, '-u', pg.user, '--pw', pg.password, '--db', db, ...args], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`temporal-sql-tool ${args.join(' ')} on ${db} failed: ${r.error?.message ?? `${r.stdout}${r.stderr}`}`);
}

/** Creates `db` and brings its schema to the newest version of `versioned`. */
function setUpDatabase(files: TemporalServerFiles, pg: Pg, db: string, versioned: string): void {
  sqlTool(files, pg, db, ['create-database']);
  sqlTool(files, pg, db, ['setup-schema', '-v', '0.0']);
  sqlTool(files, pg, db, ['update-schema', '-d', versioned]);
}

const datastore = (pg: Pg, db: string): string => `
      sql:
        pluginName: postgres12
        databaseName: ${db}
        connectAddr: "${pg.host}:${pg.port}"
        connectProtocol: tcp
        user: ${JSON.stringify(pg.user)}
        password: ${JSON.stringify(pg.password)}
        maxConns: 10
        maxIdleConns: 10
        maxConnLifetime: 1h`;

const service = (grpc: number, membership: number, http?: number): string => `
    rpc:
      grpcPort: ${grpc}
      membershipPort: ${membership}
      bindOnLocalHost: true${http ? `\n      httpPort: ${http}` : ''}`;

/** The server's config (development.yaml): Postgres persistence and visibility, one cluster, TLS on the frontend. */
function serverConfig(pg: Pg, dbs: [string, string], shards: number, tls: { ca: string; cert: string; key: string } | undefined, ports: number[], dynamicConfig: string): string {
  const [fe, feM, feH, hi, hiM, ma, maM, wo, woM] = ports;
  return `log:
  stdout: true
  level: warn
persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: ${shards}
  datastores:
    default:${datastore(pg, dbs[0])}
    visibility:${datastore(pg, dbs[1])}
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
  pprof:
    port: 0${tls ? `
  tls:
    frontend:
      server:
        certFile: ${tls.cert}
        keyFile: ${tls.key}
        requireClientAuth: false
      client:
        serverName: localhost
        rootCaFiles:
          - ${tls.ca}` : ''}
services:
  frontend:${service(fe, feM, feH)}
  history:${service(hi, hiM)}
  matching:${service(ma, maM)}
  worker:${service(wo, woM)}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "localhost:${fe}"
      httpAddress: "localhost:${feH}"
dcRedirectionPolicy:
  policy: noop
archival:
  history:
    state: disabled
  visibility:
    state: disabled
dynamicConfigClient:
  filepath: ${dynamicConfig}
  pollInterval: 10s
`;
}

/** Dynamic config: a per-shard events cache sized for few shards (32 MiB against 512 KiB by default); search attributes usable at once. */
const DYNAMIC_CONFIG = `history.eventsCacheMaxSizeBytes:
  - value: 33554432
system.forceSearchAttributesCacheRefreshOnRead:
  - value: true
`;

async function dropDatabases(adminUrl: string, dbs: string[]): Promise<void> {
  const pg = new PgClient({ connectionString: adminUrl });
  await pg.connect();
  try {
    for (const db of dbs) await pg.query(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
  } finally {
    await pg.end();
  }
}

/** Registers `namespace` (retention one day) once the frontend answers, then the platform's search attributes. */
async function prepareNamespace(env: Record<string, string>, namespace: string, child: ChildProcess, logFile: string): Promise<void> {
  const settings = loadTemporalSettings(env);
  const deadline = Date.now() + 120_000;
  let connection: Connection | undefined;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the Temporal server exited with ${child.exitCode}:\n${tail(logFile)}`);
    try {
      connection ??= await Connection.connect(connectionOptions(settings, { connectTimeout: 2_000 }));
      await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: { seconds: Long.fromNumber(86_400) } });
      break;
    } catch (err) {
      const ALREADY_EXISTS = 6;
      if ((err as { code?: number }).code === ALREADY_EXISTS) break;
      if (Date.now() > deadline) throw new Error(`the Temporal server did not accept the namespace: ${(err as Error).message}\n${tail(logFile)}`);
      await sleep(500);
    }
  }
  const ready = connection;
  if (!ready) throw new Error('no connection to the Temporal server');
  try {
    for (;;) {
      try {
        await ensureSearchAttributes(ready, namespace);
        await ready.workflowService.listWorkflowExecutions({ namespace, pageSize: 1 });
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`the namespace ${namespace} did not become usable: ${(err as Error).message}`);
        await sleep(500);
      }
    }
  } finally {
    await ready.close();
  }
}

/**
 * `n` free consecutive ports below 32768: the server stores membership ports in a smallint column,
 * so the system's ephemeral ports (freePort) do not fit.
 */
async function freePorts(n: number): Promise<number[]> {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 12_000);
    const ports = Array.from({ length: n }, (_, i) => base + i);
    const used = await Promise.all(ports.map((p) => portInUse(p)));
    if (!used.some(Boolean)) return ports;
  }
}

/** Starts the server; `stop()` ends it (SIGTERM, then SIGKILL), drops its databases and removes its files. */
export async function startTemporalServer(options: TemporalServerOptions): Promise<RunningTemporalServer> {
  const log = options.log ?? ((m: string) => process.stderr.write(`[temporal-server] ${m}\n`));
  const namespace = options.namespace ?? 'flowruns';
  const files = await resolveTemporalServer({ log });
  const url = new URL(options.adminUrl);
  const pg: Pg = { host: url.hostname, port: url.port || '5432', user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
  const base = `temporal_prod_${randomBytes(4).toString('hex')}`;
  const dbs: [string, string] = [base, `${base}_vis`];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowruns-temporal-server-'));
  const started = Date.now();
  setUpDatabase(files, pg, dbs[0], path.join(files.schemaDir, 'temporal', 'versioned'));
  setUpDatabase(files, pg, dbs[1], path.join(files.schemaDir, 'visibility', 'versioned'));
  log(`schemas set up in ${dbs.join(', ')} (${Date.now() - started} ms)`);
  const tls = options.tls === false ? undefined : makeCertificates(dir);
  const ports = await freePorts(9);
  fs.mkdirSync(path.join(dir, 'config'));
  const dynamicConfig = path.join(dir, 'dynamicconfig.yaml');
  fs.writeFileSync(dynamicConfig, DYNAMIC_CONFIG);
  fs.writeFileSync(path.join(dir, 'config', 'development.yaml'), serverConfig(pg, dbs, options.numHistoryShards ?? 4, tls, ports, dynamicConfig));
  const logFile = path.join(dir, 'server.log');
  const out = fs.openSync(logFile, 'w');
  const child = spawn(files.server, ['--root', dir, '--config', 'config', '--env', 'development', '--allow-no-auth', 'start'], { stdio: ['ignore', out, out] });
  fs.closeSync(out);
  const address = `127.0.0.1:${ports[0]}`;
  const env: Record<string, string> = { TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: namespace };
  if (tls) Object.assign(env, { TEMPORAL_TLS_SERVER_CA_CERT_PATH: tls.ca, TEMPORAL_TLS_SERVER_NAME: 'localhost' });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.pid) {
      child.kill('SIGTERM');
      if (!(await waitForExit(child.pid, 15_000))) child.kill('SIGKILL');
    }
    await dropDatabases(options.adminUrl, dbs).catch((err: Error) => log(`could not drop ${dbs.join(', ')}: ${err.message}`));
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await prepareNamespace(env, namespace, child, logFile);
  } catch (err) {
    await stop();
    throw err;
  }
  log(`Temporal server ${address} (${tls ? 'TLS' : 'plaintext'}, ${options.numHistoryShards ?? 4} shards, namespace ${namespace}) ready in ${Date.now() - started} ms`);
  return { address, namespace, env, databases: dbs, dir, logFile, pid: child.pid ?? 0, stop };
}
