/**
 * Where artifact files (screenshots, diff images, rendered HTML) live; `run_artifacts` lists
 * them. A directory by default (FLOWRUNS_ARTIFACTS_DIR, `.data/artifacts` under `npm run dev`),
 * shared by the gateway that serves the files and the workers that write them. Keys are
 * slash-separated names made of safe segments only, so a key can never leave the root.
 */
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

export interface ArtifactStore {
  put(key: string, data: Buffer): Promise<void>;
  /** The file's bytes, or null when there is none. */
  get(key: string): Promise<Buffer | null>;
  /** Removes every file whose key starts with `prefix/` (a run's files). */
  removeAll(prefix: string): Promise<void>;
}

const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}$/;

/** A key from its segments; throws on a segment that could escape the root or is not a plain name. */
export function artifactKey(...segments: string[]): string {
  for (const s of segments) if (!SEGMENT.test(s) || s.includes('..')) throw new Error(`not a safe artifact key segment: ${JSON.stringify(s)}`);
  return segments.join('/');
}

export function directoryStore(root: string): ArtifactStore {
  const file = (key: string) => {
    artifactKey(...key.split('/'));
    return path.join(root, ...key.split('/'));
  };
  return {
    async put(key, data) {
      const target = file(key);
      await fs.mkdir(path.dirname(target), { recursive: true });
      // Written whole then renamed, so a reader never sees half a file.
      const tmp = `${target}.${randomUUID()}.tmp`;
      await fs.writeFile(tmp, data);
      await fs.rename(tmp, target);
    },
    async get(key) {
      try {
        return await fs.readFile(file(key));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      }
    },
    async removeAll(prefix) {
      await fs.rm(file(prefix), { recursive: true, force: true });
    },
  };
}
