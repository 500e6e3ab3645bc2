/**
 * The live streams open on every gateway, in Postgres (`event_streams`), so an account's cap on
 * streams counts them all, not one gateway's share. Each gateway beats for its own streams; a
 * stream whose gateway stopped beating (killed) stops counting after STALE_SECONDS.
 */
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import {
  beatEventStreams,
  countEventStreams,
  deleteEventStream,
  deleteGatewayEventStreams,
  deleteStaleEventStreams,
  insertEventStream,
  lockAccountEventStreams,
} from '../../../db/event-streams';
import { tooManyRequests } from '../http/errors';

export const MAX_STREAMS_PER_KEY = 20;
const BEAT_MS = 10_000;
const STALE_SECONDS = 30;

export class StreamSlots {
  private readonly mine = new Set<string>();
  private readonly beat: NodeJS.Timeout;

  constructor(
    private readonly db: DataSource,
    readonly gatewayId: string,
  ) {
    this.beat = setInterval(() => void this.heartbeat(), BEAT_MS);
    this.beat.unref();
  }

  private async heartbeat(): Promise<void> {
    if (this.mine.size === 0) return;
    await beatEventStreams(this.db, [...this.mine]).catch(() => undefined);
  }

  /** Counts a new stream against its key and its account on every gateway, or throws 429 naming the bound reached; resolves to its release. */
  async open(auth: { accountId: string; keyId: string }, maxPerAccount: number): Promise<() => Promise<void>> {
    const id = randomUUID();
    await this.db.transaction(async (tx) => {
      // One opener per account at a time, on every gateway: the count and the insert agree.
      await lockAccountEventStreams(tx, auth.accountId);
      await deleteStaleEventStreams(tx, auth.accountId, STALE_SECONDS);
      const counts = await countEventStreams(tx, auth.accountId, auth.keyId);
      if (counts.key >= MAX_STREAMS_PER_KEY) throw tooManyRequests(`at most ${MAX_STREAMS_PER_KEY} event streams per key at once; close one first`, 5);
      if (counts.account >= maxPerAccount)
        throw tooManyRequests(`at most ${maxPerAccount} event streams per account at once (all its keys together); close one first`, 5);
      await insertEventStream(tx, id, auth.accountId, auth.keyId, this.gatewayId);
    });
    this.mine.add(id);
    return async () => {
      this.mine.delete(id);
      await deleteEventStream(this.db, id).catch(() => undefined);
    };
  }

  /** Stops beating and drops this gateway's rows (its streams are closing with it). */
  async stop(): Promise<void> {
    clearInterval(this.beat);
    await deleteGatewayEventStreams(this.db, this.gatewayId).catch(() => undefined);
  }
}
