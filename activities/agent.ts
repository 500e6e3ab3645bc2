/**
 * The activities an agent runs: one attempt of a step, on the machine the agent is on, with no
 * database. Everything the attempt produced (output, requests, error) is handed back, and the
 * platform's own workers record it (`recordAgentAttempt`), so an agent holds no credentials but
 * its account's API key (to register) and the Temporal connection.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { redactor } from '../domain/secrets';
import type { RequestRecord } from '../steps/step-type';
import type { StepCall } from './index';
import { attemptStep, heartbeating, type StepRuntime } from './step-attempt';

/** An output an agent hands back travels in a Temporal payload (2 MB at most). */
export const AGENT_MAX_OUTPUT_BYTES = 1_500_000;

/** A request as it travels back from an agent: `ts` as an ISO string. */
export type AgentRequest = Omit<RequestRecord, 'ts'> & { ts: string };

export type AgentAttempt =
  | { status: 'skipped' }
  | { status: 'succeeded'; output: unknown; startedAt: string; finishedAt: string; requests: AgentRequest[] }
  | { status: 'failed'; error: string; errorType?: string; nonRetryable: boolean; startedAt: string; finishedAt: string; requests: AgentRequest[] };

export function createAgentActivities(runtime: StepRuntime) {
  return {
    /** One attempt; the workflow retries (a step failure is an answer here, not an activity failure). */
    async runStepOnAgent(call: StepCall & { attempt: number }): Promise<AgentAttempt> {
      const { cancellationSignal } = Context.current();
      const redact = redactor(call.scope.vars, call.secrets);
      const requests: AgentRequest[] = [];
      let startedAt = runtime.clock();
      try {
        const result = await heartbeating(() =>
          attemptStep(call, call.scope, call.attempt, cancellationSignal, runtime, {
            started: async (at) => {
              startedAt = at;
            },
            recordRequest: async (row) => {
              requests.push({ ...row, ts: row.ts.toISOString(), url: redact(row.url), error: redact(row.error) });
            },
          }),
        );
        if (result.skipped) return { status: 'skipped' };
        const bytes = Buffer.byteLength(JSON.stringify(result.output ?? null));
        if (bytes > AGENT_MAX_OUTPUT_BYTES)
          throw ApplicationFailure.nonRetryable(`the step's output is ${bytes} bytes; an agent hands back at most ${AGENT_MAX_OUTPUT_BYTES}`, 'AgentOutputTooLarge');
        return { status: 'succeeded', output: result.output, startedAt: startedAt.toISOString(), finishedAt: result.finishedAt.toISOString(), requests };
      } catch (err) {
        // Cancelled by Temporal: the activity ends as cancelled, not as a step answer.
        if (cancellationSignal.aborted) throw err;
        const failure = err instanceof ApplicationFailure ? err : undefined;
        return {
          status: 'failed',
          error: redact((err as Error)?.message ?? String(err)),
          ...(failure?.type ? { errorType: failure.type } : {}),
          nonRetryable: failure?.nonRetryable ?? false,
          startedAt: startedAt.toISOString(),
          finishedAt: runtime.clock().toISOString(),
          requests,
        };
      }
    },
  };
}

export type AgentActivities = ReturnType<typeof createAgentActivities>;
