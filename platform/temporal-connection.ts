/**
 * How the gateway, the workers and `npm run dev` reach Temporal, read the way Temporal's own tools
 * read it (`@temporalio/envconfig`): a TOML profile file (`TEMPORAL_CONFIG_FILE`, else
 * `~/.config/temporalio/temporal.toml`; profile `TEMPORAL_PROFILE`, else `default`) overridden by
 * `TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS*` and
 * `TEMPORAL_GRPC_META_*`. The one place that builds Connection and NativeConnection options.
 */
import type { ConnectionOptions } from '@temporalio/client';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';
import { z } from 'zod';

export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';

/** The variables `@temporalio/envconfig` reads, with what each does (docs/configuration.md is rendered from these too). */
export const temporalEnvSchema = z.object({
  TEMPORAL_ADDRESS: z.string().optional().meta({
    description: 'The Temporal frontend, `host:port` (Temporal Cloud: `<namespace>.<account>.tmprl.cloud:7233`, or the regional endpoint with an API key).',
    unset: "the profile's `address`, else `127.0.0.1:7233` (`npm run dev` starts its own dev server there)",
  }),
  TEMPORAL_NAMESPACE: z.string().optional().meta({
    description: 'The Temporal namespace.',
    unset: "the profile's `namespace`, else `default`",
  }),
  TEMPORAL_API_KEY: z.string().optional().meta({
    description: 'An API key sent as a bearer token on every call (Temporal Cloud API keys); turns TLS on.',
    unset: "the profile's `api_key`, else none",
  }),
  TEMPORAL_TLS: z.string().optional().meta({
    description: '`true`: TLS to the frontend (with the system roots unless a CA is given); `false`: never, even with a key or certificates.',
    unset: 'TLS when an API key or any `TEMPORAL_TLS_*` is set',
  }),
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: z.string().optional().meta({ description: "PEM file of the CA that signed the frontend's certificate (`…_DATA`: the PEM itself)." }),
  TEMPORAL_TLS_SERVER_CA_CERT_DATA: z.string().optional().meta({ description: 'The same CA as PEM text.' }),
  TEMPORAL_TLS_CLIENT_CERT_PATH: z.string().optional().meta({ description: "PEM file of this process's client certificate, for mTLS (with its key)." }),
  TEMPORAL_TLS_CLIENT_CERT_DATA: z.string().optional().meta({ description: 'The client certificate as PEM text.' }),
  TEMPORAL_TLS_CLIENT_KEY_PATH: z.string().optional().meta({ description: "PEM file of the client certificate's private key." }),
  TEMPORAL_TLS_CLIENT_KEY_DATA: z.string().optional().meta({ description: 'The private key as PEM text.' }),
  TEMPORAL_TLS_SERVER_NAME: z.string().optional().meta({ description: "The name the frontend's certificate must carry, when it is not the address's host." }),
  TEMPORAL_PROFILE: z.string().optional().meta({
    description: 'The profile of the TOML file to use; one named but missing is an error at start.',
    unset: '`default` (none in the file: variables only)',
  }),
  TEMPORAL_CONFIG_FILE: z.string().optional().meta({
    description: 'The TOML profile file (`[profile.prod]` with `address`, `namespace`, `api_key`, `[profile.prod.tls]` with `server_ca_cert_path`, `client_cert_path`, `client_key_path`, `server_name`), as the `temporal` CLI writes it.',
    unset: '`~/.config/temporalio/temporal.toml` when it exists',
  }),
});

/** Every variable that reaches Temporal's settings, `TEMPORAL_GRPC_META_<NAME>` (a gRPC header each) aside. */
export const TEMPORAL_ENV_VARS = Object.keys(temporalEnvSchema.shape);
export const TEMPORAL_GRPC_META_PREFIX = 'TEMPORAL_GRPC_META_';

export interface TemporalSettings {
  address: string;
  /** True when neither a variable nor the profile named an address: `npm run dev` may start its own server. */
  addressDefaulted: boolean;
  namespace: string;
  apiKey?: string;
  /** `true`: TLS with the system roots; an object: with these certificates; false/undefined: none. */
  tls?: TLSConfig | boolean;
  metadata?: Record<string, string>;
}

/** Reads the settings from `env` and the profile file it points at; a bad profile or unreadable file throws, naming it. */
export function loadTemporalSettings(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  const vars = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string'));
  let loaded: ReturnType<typeof loadClientConnectConfig>;
  try {
    loaded = loadClientConnectConfig({ overrideEnvVars: vars });
  } catch (err) {
    throw new Error(`Temporal connection settings (TEMPORAL_PROFILE / TEMPORAL_CONFIG_FILE / TEMPORAL_TLS_*): ${(err as Error).message}`);
  }
  const o = loaded.connectionOptions;
  return {
    address: o.address ?? DEFAULT_TEMPORAL_ADDRESS,
    addressDefaulted: o.address === undefined,
    namespace: loaded.namespace ?? 'default',
    apiKey: typeof o.apiKey === 'string' ? o.apiKey : undefined,
    tls: asBuffers(o.tls ?? undefined),
    metadata: o.metadata && Object.keys(o.metadata).length ? (o.metadata as Record<string, string>) : undefined,
  };
}

/** envconfig reads files as Uint8Arrays; the client's gRPC (grpc-js) accepts Buffers only. */
function asBuffers(tls: TLSConfig | boolean | undefined): TLSConfig | boolean | undefined {
  if (!tls || tls === true) return tls;
  const buf = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b));
  return {
    serverNameOverride: tls.serverNameOverride,
    serverRootCACertificate: buf(tls.serverRootCACertificate),
    clientCertPair: tls.clientCertPair ? { crt: buf(tls.clientCertPair.crt)!, key: buf(tls.clientCertPair.key)! } : undefined,
  };
}

/** A plain local server at `address` (the dev server `npm run dev` and the tests start). */
export const localTemporal = (address: string, namespace = 'default'): TemporalSettings => ({ address, addressDefaulted: false, namespace });

/** Options of a client Connection (the gateway, `npm run dev`). */
export function connectionOptions(s: TemporalSettings, extra: Partial<ConnectionOptions> = {}): ConnectionOptions {
  return { address: s.address, tls: s.tls, apiKey: s.apiKey, metadata: s.metadata, ...extra };
}

/** Options of a worker's NativeConnection. */
export function nativeConnectionOptions(s: TemporalSettings): NativeConnectionOptions {
  return { address: s.address, tls: s.tls, apiKey: s.apiKey, metadata: s.metadata };
}

/** One line for logs: where, which namespace, and how it is secured (never the key). */
export function describeTemporal(s: TemporalSettings): string {
  const how = s.apiKey ? 'API key over TLS' : s.tls && typeof s.tls === 'object' && s.tls.clientCertPair ? 'mTLS' : s.tls ? 'TLS' : 'plaintext';
  return `${s.address} (namespace ${s.namespace}, ${how})`;
}
