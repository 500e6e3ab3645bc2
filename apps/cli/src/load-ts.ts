/**
 * Loads a `.flow.ts` file without a TypeScript toolchain on the user's machine: sucrase (pure
 * JavaScript, shipped as a dependency, loaded only when such a file is read) strips the types and
 * turns `import`/`export` into CommonJS; the module then runs in this process. `@flowruns/cli`
 * resolves to this very package (wherever the file lives, whether or not the project installed it);
 * relative imports of other `.ts` files load the same way; anything else resolves from the file's
 * folder as Node would. Type errors are not checked here (run `tsc` in the project for that).
 */
import fs from 'node:fs';
import Module, { createRequire } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';

type Sucrase = { transform: (code: string, options: { transforms: string[]; filePath: string }) => { code: string } };

/** This package's public API, as `import … from '@flowruns/cli'` gets it inside a loaded file. */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- lazily, so plain `run` does not load it
const selfApi = () => require('./index') as unknown;

export function loadTsModule(file: string, cache = new Map<string, unknown>()): unknown {
  const full = path.resolve(file);
  if (cache.has(full)) return cache.get(full);
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when a .ts file is read
  const { transform } = require('sucrase') as Sucrase;
  const { code } = transform(fs.readFileSync(full, 'utf8'), { transforms: ['typescript', 'imports'], filePath: full });
  const mod = new Module(full);
  mod.filename = full;
  mod.paths = (Module as unknown as { _nodeModulePaths: (dir: string) => string[] })._nodeModulePaths(path.dirname(full));
  const nodeRequire = createRequire(full);
  const localRequire = (spec: string): unknown => {
    if (spec === '@flowruns/cli') return selfApi();
    if (spec.startsWith('.') || path.isAbsolute(spec)) {
      const base = path.resolve(path.dirname(full), spec);
      const ts = [base, `${base}.ts`, path.join(base, 'index.ts')].find((f) => f.endsWith('.ts') && fs.existsSync(f));
      if (ts) return loadTsModule(ts, cache);
    }
    return nodeRequire(spec);
  };
  cache.set(full, mod.exports);
  const wrapper = vm.runInThisContext(Module.wrap(code), { filename: full }) as (...args: unknown[]) => void;
  wrapper(mod.exports, localRequire, mod, full, path.dirname(full));
  cache.set(full, mod.exports);
  return mod.exports;
}

/** The file's definitions: its default export (or `module.exports`), one object or a list. */
export function definitionsOfTsFile(file: string): unknown[] {
  const exports = loadTsModule(file) as { default?: unknown; __esModule?: boolean } | unknown;
  const value = exports && typeof exports === 'object' && 'default' in exports ? (exports as { default: unknown }).default : exports;
  return Array.isArray(value) ? value : [value];
}
