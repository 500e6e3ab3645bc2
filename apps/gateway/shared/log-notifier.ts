/**
 * One LISTEN per gateway on `flowruns_run_logs` (notified on commit by a trigger on `run_logs`
 * with the runs and batches written for), fanned out to the streams following them. A stream
 * still looks now and then on its own (its safety poll), so a lost notification or a dropped
 * connection only delays it.
 */
import type { DataSource } from 'typeorm';
import { listenRunLogs, RUN_LOGS_CHANNEL } from '../../../db/run-logs';
import { PgSession, sessionConfig } from './pg-session';

export { RUN_LOGS_CHANNEL };

export class LogNotifier {
  private readonly listeners = new Map<string, Set<() => void>>();
  private readonly session: PgSession;

  constructor(db: DataSource, onLost: (err: unknown) => void = () => undefined) {
    this.session = new PgSession(
      sessionConfig(db),
      async (client) => {
        client.on('notification', (n) => {
          if (n.channel === RUN_LOGS_CHANNEL) this.dispatch(n.payload ?? '*');
        });
        await listenRunLogs(client);
        // Back after a gap: whatever was notified meanwhile is looked for now.
        this.dispatch('*');
      },
      onLost,
    );
    this.session.start();
  }

  /** True while the LISTEN connection is up. */
  get listening(): boolean {
    return this.session.current !== undefined;
  }

  private dispatch(payload: string): void {
    if (payload === '*') {
      for (const set of this.listeners.values()) for (const fn of set) fn();
      return;
    }
    for (const id of payload.split(',')) for (const fn of this.listeners.get(id) ?? []) fn();
  }

  /** Calls `fn` whenever lines of run or batch `id` are committed; returns the unsubscribe. */
  subscribe(id: string, fn: () => void): () => void {
    let set = this.listeners.get(id);
    if (!set) this.listeners.set(id, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.listeners.delete(id);
    };
  }

  async stop(): Promise<void> {
    await this.session.stop();
  }
}
