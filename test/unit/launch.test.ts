/**
 * The production worker is launched in three places: `npm run start:worker` (package.json), the
 * compose file's worker service, and P4's benchmark, which reads package.json. Its memory settings
 * (node flags, malloc environment) must be the same in all of them.
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { productionWorkerLaunch } from '../../bench/worker-launch';

const root = path.join(__dirname, '..', '..');

describe('the production worker launch', () => {
  const launch = productionWorkerLaunch();

  it('start:worker sets the worker memory settings', () => {
    expect(launch.nodeArgs).toEqual(expect.arrayContaining([expect.stringMatching(/^--max-semi-space-size=\d+$/), expect.stringMatching(/^--heap-growing-percent=\d+$/)]));
    expect(Object.keys(launch.env).sort()).toEqual(['MALLOC_ARENA_MAX', 'MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_']);
  });

  it('the compose worker runs with the same flags and environment', () => {
    const compose = YAML.parse(fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
      services: { worker: { command: string[]; environment: Record<string, string> } };
    };
    const worker = compose.services.worker;
    expect(worker.command).toEqual(['node', ...launch.nodeArgs, 'dist/apps/worker/main.js']);
    for (const [name, value] of Object.entries(launch.env)) expect({ name, value: worker.environment[name] }).toEqual({ name, value });
  });
});
