/** The typed client now ships in the CLI package (`@flowruns/cli`): apps/cli/src/client. */
export * from '../cli/src/client';
