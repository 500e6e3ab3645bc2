import type { Client } from '@temporalio/client';
import type { DataSource } from 'typeorm';
import type { Config } from '../config';

/** What the gateway's use cases depend on; built once at boot and passed to every route factory. */
export interface GatewayDeps {
  config: Config;
  dataSource: DataSource;
  client: Client;
}
