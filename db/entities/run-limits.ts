/** Tables of per-account fairness: `run_slots` and `run_descendants` (migration 1734400000000). */
import { EntitySchema } from 'typeorm';
import { text, ts, tsNull, bigserial, now } from './columns';

/**
 * A run of a batch asking for a slot before its workflow starts: `seq` orders the waiting ones,
 * `grantedAt` marks those holding a slot. Read and written with SQL only (db/run-limits.ts).
 */
export interface RunSlot {
  runId: string;
  accountId: string;
  /** A `bigserial`, numbered by the database; read as a string. */
  seq: string;
  askedAt: Date;
  polledAt: Date;
  grantedAt: Date | null;
}
/** A run a `flow` step started under one root run, all depths together. Read and written with SQL only (db/run-limits.ts). */
export interface RunDescendant {
  rootRunId: string;
  runId: string;
  createdAt: Date;
}

export const RunSlotEntity = new EntitySchema<RunSlot>({
  name: 'RunSlot',
  tableName: 'run_slots',
  columns: {
    runId: { ...text, name: 'run_id', primary: true },
    accountId: { ...text, name: 'account_id' },
    seq: bigserial,
    askedAt: { ...ts('asked_at'), default: now },
    polledAt: { ...ts('polled_at'), default: now },
    grantedAt: tsNull('granted_at'),
  },
});

export const RunDescendantEntity = new EntitySchema<RunDescendant>({
  name: 'RunDescendant',
  tableName: 'run_descendants',
  columns: {
    rootRunId: { ...text, name: 'root_run_id', primary: true },
    runId: { ...text, name: 'run_id', primary: true },
    createdAt: { ...ts('created_at'), createDate: true },
  },
});
