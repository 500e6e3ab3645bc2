#!/usr/bin/env node
// The `flowruns` CLI of @flowruns/cli. `--version` answers before anything else loads (a start-up
// budget of 300 ms); every other command loads the bundle (dist/cli.js), built by `npm run build`
// in apps/cli and by `npm pack` (prepack). In a checkout without the bundle, the source runs through tsx.
'use strict';
const path = require('node:path');

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  process.stdout.write(`${require('../package.json').version}\n`);
} else {
  let cli;
  try {
    cli = require('../dist/cli.js');
  } catch (err) {
    if (err.code !== 'MODULE_NOT_FOUND' || !String(err.message).includes(path.join('dist', 'cli.js'))) throw err;
    require('tsx/cjs');
    cli = require('../src/main.ts');
  }
  cli.runMain(argv);
}
