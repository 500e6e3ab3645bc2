/** A loopback TCP proxy the fault tests cut (open connections reset, new ones refused) and restore on the same port. */
import net from 'node:net';

export interface TcpProxy {
  port(): number;
  cut(): Promise<void>;
  restore(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve) => {
      server = net.createServer((client) => {
        const upstream = net.connect(target.port, target.host);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => s.destroy());
        }
        client.pipe(upstream).pipe(client);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as net.AddressInfo).port;
        resolve();
      });
    });
  await listen();
  return {
    port: () => port,
    async cut() {
      // New connections are refused from now on, and the open ones are reset (close waits for them).
      const closed = new Promise((r) => server!.close(r));
      for (const s of sockets) s.resetAndDestroy();
      await closed;
    },
    restore: listen,
  };
}
