/** The account of a run, for the turn its expressions take on the shared evaluator. */
import type { DataSource } from 'typeorm';
import { findRunOwner } from '../db/runs';

/** Runs whose account is kept in memory by `runAccounts` (the oldest forgotten first). */
const KNOWN_RUN_ACCOUNTS = 10_000;
/** How long the account's read may take before the run takes a turn of its own. */
const ACCOUNT_READ_WAIT_MS = 1_000;

/**
 * The account of a run, read once from its row and kept (a run never changes account): the turn
 * its expressions take on the evaluator. A run that cannot be read (gone, Postgres down) takes a
 * turn of its own rather than fail or wait (a stalled one after `ACCOUNT_READ_WAIT_MS`).
 */
export function runAccounts(dataSource: DataSource): (runId: string) => Promise<string> {
  const known = new Map<string, Promise<string>>();
  return (runId) => {
    let account = known.get(runId);
    if (!account) {
      const read = findRunOwner(dataSource, runId);
      // A stalled database answers nothing at all: the run waits no longer than this for its turn.
      const stalled = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer')), ACCOUNT_READ_WAIT_MS).unref());
      account = Promise.race([read, stalled]).then(
        (owner) => owner?.accountId ?? `run:${runId}`,
        () => {
          known.delete(runId);
          return `run:${runId}`;
        },
      );
      known.set(runId, account);
      if (known.size > KNOWN_RUN_ACCOUNTS) known.delete(known.keys().next().value as string);
    }
    return account;
  };
}
