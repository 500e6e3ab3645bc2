/**
 * What a gateway shares with the other gateways through Postgres (SPEC §10 "Several gateways and
 * workers"): the rate limits, the live streams' cap and wake-ups, and the lead of the watcher of
 * operator actions. Built once per gateway by startGateway, stopped with it.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { DataSource } from 'typeorm';
import type { Config } from '../../../platform/config';
import { Leadership, WATCHER_LOCK, type LeaderJob } from './leader';
import { LogNotifier } from './log-notifier';
import { SharedRateLimiter } from './rate-limit';
import { StreamSlots } from './stream-slots';

export interface GatewayShared {
  gatewayId: string;
  limiter: SharedRateLimiter;
  streams: StreamSlots;
  notifier: LogNotifier;
  /** Set once the watcher is started: whether this gateway runs it now. */
  watcher?: Leadership;
  stop(): Promise<void>;
}

export function createShared(db: DataSource, config: Config, onError: (what: string, err: unknown) => void): GatewayShared {
  const gatewayId = `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const shared: GatewayShared = {
    gatewayId,
    limiter: new SharedRateLimiter(db, config.rateLimitPerMinute, config.rateLimitPerAccountPerMinute),
    streams: new StreamSlots(db, gatewayId),
    notifier: new LogNotifier(db, (err) => onError('the LISTEN connection for live streams was lost; reconnecting', err)),
    stop: async () => {
      await shared.watcher?.stop();
      await shared.notifier.stop();
      await shared.streams.stop();
    },
  };
  return shared;
}

/** Runs `start`'s job on one gateway at a time (the one holding WATCHER_LOCK). */
export function leadWatcher(db: DataSource, shared: GatewayShared, start: () => LeaderJob, onError: (what: string, err: unknown) => void, retryMs?: number): Leadership {
  shared.watcher = new Leadership(db, WATCHER_LOCK, start, retryMs, (err) => onError('the watcher lock connection was lost; reconnecting', err));
  return shared.watcher;
}

export { SharedRateLimiter, rateLimitHeaders, type RateState, type RateSubject } from './rate-limit';
