/**
 * A Postgres session of its own beside the data source's pool, for what lives on one connection:
 * LISTEN, and session advisory locks. Reconnects with backoff when the connection is lost, telling
 * its owner through `onConnect` each time it is back.
 */
import { Client, type ClientConfig } from 'pg';
import type { DataSource } from 'typeorm';
import type { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';

/** The connection settings of a data source, for a session of its own. */
export function sessionConfig(db: DataSource): ClientConfig {
  const o = db.options as PostgresConnectionOptions;
  return o.url
    ? { connectionString: o.url, keepAlive: true }
    : { host: o.host, port: o.port, user: o.username, password: typeof o.password === 'string' ? o.password : undefined, database: o.database, keepAlive: true };
}

export class PgSession {
  private client?: Client;
  private stopped = false;
  private retry?: NodeJS.Timeout;
  private backoffMs = 250;

  constructor(
    private readonly config: ClientConfig,
    private readonly onConnect: (client: Client) => Promise<void>,
    private readonly onLost: (err: unknown) => void = () => undefined,
  ) {}

  start(): void {
    void this.connect();
  }

  /** The live client, if connected. */
  get current(): Client | undefined {
    return this.client;
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new Client(this.config);
    let lost = false;
    const lose = (err: unknown) => {
      if (lost) return;
      lost = true;
      if (this.client === client) this.client = undefined;
      client.end().catch(() => undefined);
      if (this.stopped) return;
      this.onLost(err);
      this.retry = setTimeout(() => void this.connect(), this.backoffMs);
      this.backoffMs = Math.min(5000, this.backoffMs * 2);
    };
    client.on('error', lose);
    client.on('end', () => lose(new Error('connection ended')));
    try {
      await client.connect();
      this.client = client;
      await this.onConnect(client);
      this.backoffMs = 250;
    } catch (err) {
      lose(err);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}
