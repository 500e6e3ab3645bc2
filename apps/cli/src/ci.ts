/**
 * The Idempotency-Key of a CI trigger: derived from the CI's run identity, so a retried CI step
 * (the same pipeline run and attempt) lands on the batch it already started instead of a second.
 */
import { randomUUID } from 'node:crypto';

/** The key named by the environment: GitHub Actions, GitLab CI, Jenkins; undefined elsewhere. */
export function ciIdempotencyKey(env: NodeJS.ProcessEnv): string | undefined {
  if (env.GITHUB_RUN_ID) return `github-${env.GITHUB_RUN_ID}-${env.GITHUB_RUN_ATTEMPT ?? '1'}${env.GITHUB_JOB ? `-${env.GITHUB_JOB}` : ''}`;
  if (env.CI_PIPELINE_ID && env.CI_JOB_ID) return `gitlab-${env.CI_PIPELINE_ID}-${env.CI_JOB_ID}`;
  if (env.BUILD_TAG) return `jenkins-${env.BUILD_TAG}`;
  return undefined;
}

/**
 * The key for this call: `--idempotency-key`, else the CI's, else random. The CI's is scoped by
 * what is run, so two `flowruns run` calls of one job (different flows) start two batches.
 */
export function idempotencyKey(explicit: string | undefined, env: NodeJS.ProcessEnv, scope: string): string {
  if (explicit) return explicit;
  const ci = ciIdempotencyKey(env);
  return ci ? `${ci}-${scope}`.slice(0, 255) : randomUUID();
}
