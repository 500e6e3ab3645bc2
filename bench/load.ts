/**
 * A small closed-loop load generator, run by P4 in a process of its own so it does not share the
 * gateway's event loop: CONNECTIONS keep-alive connections, each sending GET URL again as soon as
 * the previous answer is read, for SECONDS, after WARMUP seconds of the same that are not counted (the
 * gateway's code compiled by the JIT, as in a gateway that has been serving). Prints
 * `{ requests, errors, seconds, rps }` as JSON.
 * Usage: node --import tsx bench/load.ts URL API_KEY SECONDS CONNECTIONS [WARMUP]
 */
import { Pool } from 'undici';

async function main(): Promise<void> {
  const [url, key, seconds = '5', connections = '10', warmup = '0'] = process.argv.slice(2);
  if (!url || !key) throw new Error('usage: load.ts URL API_KEY [SECONDS] [CONNECTIONS]');
  const u = new URL(url);
  const pool = new Pool(u.origin, { connections: Number(connections), pipelining: 1 });
  let until = performance.now() + Number(warmup) * 1000;
  let requests = 0;
  let errors = 0;
  const loop = async (): Promise<void> => {
    while (performance.now() < until) {
      const res = await pool.request({ method: 'GET', path: u.pathname + u.search, headers: { 'x-api-key': key } });
      await res.body.text();
      if (res.statusCode === 200) requests += 1;
      else errors += 1;
    }
  };
  await Promise.all(Array.from({ length: Number(connections) }, loop));
  [requests, errors] = [0, 0];
  const t = performance.now();
  until = t + Number(seconds) * 1000;
  await Promise.all(Array.from({ length: Number(connections) }, loop));
  const elapsed = (performance.now() - t) / 1000;
  await pool.close();
  process.stdout.write(JSON.stringify({ requests, errors, seconds: elapsed, rps: requests / elapsed }) + '\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
