/**
 * How the production worker is launched, read from package.json's start:worker so that the
 * benchmark (bench/stack.ts) and the compose file run it the same way (test/unit/launch.test.ts
 * checks them). A module of its own: the unit test reads it without loading the stack.
 */
import fs from 'node:fs';
import path from 'node:path';

/**
 * How `npm run start:worker` launches the compiled worker, read from package.json so the benchmark
 * runs it the same way: its environment defaults (`NAME=${NAME:-value}`) and its node flags.
 */
export function productionWorkerLaunch(): { env: Record<string, string>; nodeArgs: string[] } {
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const script = pkg.scripts['start:worker'] ?? '';
  const m = /^((?:\w+=\$\{\w+:-[^}]*\}\s+)*)node\s+((?:--\S+\s+)*)dist\/apps\/worker\/main\.js$/.exec(script.trim());
  if (!m) throw new Error(`package.json's start:worker is not "[NAME=\${NAME:-value} …] node [--flag …] dist/apps/worker/main.js": ${script}`);
  const env: Record<string, string> = {};
  for (const [, name, value] of m[1]!.matchAll(/(\w+)=\$\{\w+:-([^}]*)\}/g)) env[name!] = process.env[name!] ?? value!;
  return { env, nodeArgs: m[2]!.split(/\s+/).filter(Boolean) };
}
