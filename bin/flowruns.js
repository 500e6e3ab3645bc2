#!/usr/bin/env node
// The `flowruns` CLI from a checkout: the platform's build (dist/, after `npm run build`), else the
// source through tsx. The installable package is apps/cli (@flowruns/cli), with its own launcher.
const fs = require('node:fs');
const path = require('node:path');

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  process.stdout.write(`${require('../apps/cli/package.json').version}\n`);
} else {
  const built = path.join(__dirname, '..', 'dist', 'apps', 'cli', 'src', 'main.js');
  let cli;
  if (fs.existsSync(built)) cli = require(built);
  else {
    require('tsx/cjs');
    cli = require('../apps/cli/src/main.ts');
  }
  cli.runMain(argv);
}
