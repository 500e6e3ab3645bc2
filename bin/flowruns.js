#!/usr/bin/env node
// The `flowruns` CLI: the built one (dist/, after `npm run build`), else the source through tsx.
const fs = require('node:fs');
const path = require('node:path');

const built = path.join(__dirname, '..', 'dist', 'apps', 'cli', 'main.js');
let cli;
if (fs.existsSync(built)) cli = require(built);
else {
  require('tsx/cjs');
  cli = require('../apps/cli/main.ts');
}
cli
  .main(process.argv.slice(2), {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    env: process.env,
    tty: Boolean(process.stderr.isTTY),
  })
  .then((code) => {
    process.exitCode = code;
  });
