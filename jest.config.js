/**
 * The tests in tiers (jest projects), each with its own command (package.json, README "Development"):
 * - unit: no Temporal, no Postgres, no global setup; loopback stubs at most.
 * - workflow: the workflow logic on Temporal's test environment and the replay of test/histories/;
 *   each file starts its own server, so no global setup either.
 * - stack: behaviour end to end on the real stack (Temporal and Postgres from test/global-setup.ts).
 * - faults: processes killed and services cut under load, on the real stack.
 * - scale: the 10,000-run batch (about ten minutes).
 * - production: the real Temporal server (Postgres, TLS), two gateways and two workers from `npm run build`
 *   (test/production; each file starts its own server; the global setup only builds it when not cached).
 * `npm test` runs unit, workflow and stack.
 */
const FAULTS = [
  '<rootDir>/test/faults/**/*.test.ts',
  '<rootDir>/test/postgres-outage.test.ts',
  '<rootDir>/test/temporal-outage.test.ts',
  '<rootDir>/test/run-gone.test.ts',
  '<rootDir>/test/retention.test.ts',
];
const SCALE = ['<rootDir>/test/faults/large-batch.test.ts'];

/** The globs above as testPathIgnorePatterns (regular expressions; a folder's glob becomes the folder). */
const ignore = (globs) => globs.map((g) => g.replace(/\./g, '\\.').replace('/**/*\\.test\\.ts', '/'));

const shared = {
  rootDir: __dirname,
  testEnvironment: 'node',
  transform: {
    // Transpile only, with SWC (a fraction of ts-jest's time on a cold cache): type errors are `npm run lint`'s job.
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  modulePathIgnorePatterns: ['<rootDir>/dist/', '<rootDir>/.data/'],
};

/** Temporal and Postgres, started once per jest run for every project that needs them. */
const realStack = {
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
};

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 60_000,
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...shared, displayName: 'workflow', testMatch: ['<rootDir>/test/workflows/**/*.test.ts'] },
    {
      ...shared,
      ...realStack,
      displayName: 'stack',
      testMatch: ['<rootDir>/test/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', ...ignore(FAULTS)],
    },
    {
      ...shared,
      ...realStack,
      displayName: 'faults',
      testMatch: FAULTS,
      testPathIgnorePatterns: ['/node_modules/', ...ignore(SCALE)],
    },
    { ...shared, ...realStack, displayName: 'scale', testMatch: SCALE },
    // Its global setup builds the real Temporal server when it is not cached (outside the tests' timeouts).
    { ...shared, displayName: 'production', testMatch: ['<rootDir>/test/production/**/*.test.ts'], globalSetup: '<rootDir>/test/production/global-setup.ts' },
  ],
};
