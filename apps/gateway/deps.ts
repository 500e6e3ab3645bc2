/** What the gateway's use cases are given: the services, built once at boot, and the caller of each request. */
import type { Client } from '@temporalio/client';
import type { DataSource } from 'typeorm';
import { Projections } from '../../db/projections';
import type { Config } from '../../platform/config';
import type { GatewayShared } from './shared';
import { RunReconciler } from './runs/reconcile';

export interface GatewayDeps {
  config: Config;
  dataSource: DataSource;
  client: Client;
  /** What this gateway shares with the others through Postgres; startGateway builds it when not given. */
  shared?: GatewayShared;
}

/** The run core's services: every surface reads runs through the one reconciler and writes them through the one projection store. */
export interface RunDeps extends GatewayDeps {
  reconciler: RunReconciler;
  projections: Projections;
}

/** What the run reads need: Postgres and the reconciler. */
export type RunReadDeps = Pick<RunDeps, 'dataSource' | 'reconciler'>;

export function runDeps(deps: GatewayDeps): RunDeps {
  const projections = new Projections(deps.dataSource);
  return { ...deps, projections, reconciler: new RunReconciler({ dataSource: deps.dataSource, client: deps.client, projections }) };
}

/** Who is calling: resolved from the API key by the auth middleware. */
export interface AuthContext {
  accountId: string;
  /** The key's id, or 'admin' for FLOWRUNS_ADMIN_KEY. */
  keyId: string;
  keyName: string;
  isAdmin: boolean;
  /** What the key may do; the admin key may do everything. */
  scopes: readonly Scope[];
}

/** `read`: GET; `run`: start, stop and change runs; `admin`: definitions and keys. */
export const SCOPES = ['read', 'run', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];
