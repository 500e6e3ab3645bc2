/**
 * What the gateways share through Postgres (migration 1734650000000): `rate_buckets` and
 * `event_streams`. Both are UNLOGGED tables (a crash merely empties them), which TypeORM cannot
 * declare; only the migration makes them so.
 */
import { EntitySchema } from 'typeorm';
import { text, double, tsFull, now } from './columns';

/**
 * A token bucket per key, per account and per sign-in address. Read and written with SQL only:
 * `flowruns_rate_take`, the migration's function (db/rate-buckets.ts calls it).
 */
export interface RateBucket {
  name: string;
  tokens: number;
  at: Date;
}
/** A live event stream open on some gateway, beaten by it, so an account's cap counts every gateway's. Read and written with SQL only (db/event-streams.ts). */
export interface EventStream {
  id: string;
  accountId: string;
  keyId: string;
  gatewayId: string;
  openedAt: Date;
  heartbeatAt: Date;
}

export const RateBucketEntity = new EntitySchema<RateBucket>({
  name: 'RateBucket',
  tableName: 'rate_buckets',
  columns: {
    name: { ...text, primary: true },
    tokens: double,
    at: tsFull('at'),
  },
});

export const EventStreamEntity = new EntitySchema<EventStream>({
  name: 'EventStream',
  tableName: 'event_streams',
  columns: {
    id: { type: 'uuid', primary: true },
    accountId: { ...text, name: 'account_id' },
    keyId: { ...text, name: 'key_id' },
    gatewayId: { ...text, name: 'gateway_id' },
    openedAt: { ...tsFull('opened_at'), default: now },
    heartbeatAt: { ...tsFull('heartbeat_at'), default: now },
  },
});
