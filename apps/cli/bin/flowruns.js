#!/usr/bin/env node
// The `flowruns` CLI of @flowruns/cli. `--version` answers before anything else loads (a start-up
// budget of 300 ms); every other command loads the bundle (dist/cli.js, built by `npm pack`'s
// prepack). In a checkout (src/ beside this file: the package does not ship it) the source runs
// through tsx instead, so `npx flowruns` there never runs a stale bundle.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  process.stdout.write(`${require('../package.json').version}\n`);
} else if (fs.existsSync(path.join(__dirname, '..', 'src', 'main.ts'))) {
  require('tsx/cjs');
  require('../src/main.ts').runMain(argv);
} else {
  require('../dist/cli.js').runMain(argv);
}
