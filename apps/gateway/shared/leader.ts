/**
 * One leader among the gateways, by a Postgres session advisory lock held on a connection of its
 * own: the gateway holding it runs the job (the watcher of operator actions), the others try again
 * every `retryMs`. The lock goes with its session, so when the leader dies (kill -9, lost
 * network) Postgres frees it and another gateway takes over within about `retryMs`.
 */
import type { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { tryAdvisoryLock } from '../../../db/advisory-locks';
import { PgSession, sessionConfig } from './pg-session';

/** The advisory lock of the watcher of operator actions (727401 is the migrations'). */
export const WATCHER_LOCK = 727402;

export interface LeaderJob {
  stop(): Promise<void>;
}

export class Leadership {
  private job?: LeaderJob;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private readonly session: PgSession;
  /** Every change of leadership, for logs and tests. */
  readonly changes: { leading: boolean; at: number }[] = [];

  constructor(
    db: DataSource,
    private readonly lockKey: number,
    private readonly startJob: () => LeaderJob,
    private readonly retryMs = 1000,
    onLost: (err: unknown) => void = () => undefined,
  ) {
    this.session = new PgSession(sessionConfig(db), (client) => {
      this.schedule(client, 0);
      return Promise.resolve();
    }, (err) => {
      clearTimeout(this.timer);
      void this.resign();
      onLost(err);
    });
    this.session.start();
  }

  get leading(): boolean {
    return this.job !== undefined;
  }

  private schedule(client: Client, delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(client), delay);
  }

  /** Not leading: tries for the lock. Leading: checks the session is alive (a lost one ends the lead through `onLost`). */
  private async tick(client: Client): Promise<void> {
    if (this.stopped || this.session.current !== client) return;
    try {
      if (!this.job) {
        if ((await tryAdvisoryLock(client, this.lockKey)) && !this.stopped) {
          this.job = this.startJob();
          this.changes.push({ leading: true, at: Date.now() });
        }
      } else {
        await client.query('SELECT 1');
      }
    } catch {
      // The session's error handler reconnects; the lead, if any, ends there.
      return;
    }
    this.schedule(client, this.retryMs);
  }

  private async resign(): Promise<void> {
    const job = this.job;
    if (!job) return;
    this.job = undefined;
    this.changes.push({ leading: false, at: Date.now() });
    await job.stop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.resign();
    // Closing the session frees the lock for the next gateway at once.
    await this.session.stop();
  }
}
