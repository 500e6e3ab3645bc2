/**
 * One attempt of a step on an agent (apps/agent), on the machine the agent is on, with no database
 * and no Temporal: everything the attempt produced (output, requests, error, a browser's files) is
 * handed back through the gateway, and the platform's own workers record it (`recordAgentAttempt`),
 * so an agent holds no credential but its account's API key.
 */
import { ApplicationFailure } from '@temporalio/common';
import { redactor } from '../domain/secrets';
import type { RequestRecord } from '../steps/step-type';
import type { StepCall } from '../workflows/contract';
import { attemptStep, type StepRuntime } from './step-attempt';
import { agentRecorder, handedBackBytes, type AgentGateway, type AgentPageRecords } from './browser/agent-recorder';
import type { BrowserPool } from './browser/pool';
import { BROWSER_STEP_TYPES, createBrowserRuntime } from './browser/runtime';

/** An output an agent hands back travels back in a Temporal payload (2 MB at most), through the gateway. */
export const AGENT_MAX_OUTPUT_BYTES = 1_500_000;

/** A request as it travels back from an agent: `ts` as an ISO string. */
export type AgentRequest = Omit<RequestRecord, 'ts'> & { ts: string };

/** What an attempt did besides its outcome: its http requests, and a browser step's files and records. */
interface AttemptRecords {
  requests: AgentRequest[];
  browser?: AgentPageRecords;
}

export type AgentAttempt =
  | { status: 'skipped' }
  | ({ status: 'succeeded'; output: unknown; startedAt: string; finishedAt: string } & AttemptRecords)
  | ({ status: 'failed'; error: string; errorType?: string; nonRetryable: boolean; startedAt: string; finishedAt: string } & AttemptRecords);

/** An attempt on an agent, with what the workflow knows of its run for a browser step. */
export type AgentCall = StepCall & { attempt: number; page?: { accountId: string; browser?: string } };

/** An agent's browsers (browser and scan steps) and the gateway it reads visual baselines from. */
export interface AgentBrowsers {
  pool: BrowserPool;
  gateway: AgentGateway;
}

/** Runs attempts as an agent: `runtime` is the agent's own fetch (its egress policy) and evaluator. */
export function createAgentRunner(runtime: StepRuntime, browsers?: AgentBrowsers) {
  /** A browser bound to this attempt, collecting what it records to hand back. */
  const browserFor = (call: AgentCall, signal: AbortSignal, redact: <T>(v: T) => T) => {
    if (!browsers || !call.page || !BROWSER_STEP_TYPES.has(call.step.type)) return undefined;
    const collected = agentRecorder(browsers.gateway);
    const runtimeForPage = createBrowserRuntime(
      { pool: browsers.pool, recorder: collected.recorder, publicUrl: browsers.gateway.url },
      { runId: call.runId, publicRunId: call.scope.run.id, accountId: call.page.accountId, flowId: call.scope.run.flowId, stepKey: call.key, attempt: call.attempt, browser: call.page.browser, signal, redact },
    );
    return { runtime: runtimeForPage, handBack: collected.handBack };
  };

  return {
    /**
     * One attempt; the workflow retries (a step failure is an answer here). Aborted by `cancellationSignal`
     * (the run was cancelled), it throws: there is no answer to give.
     */
    async runAttempt(call: AgentCall, cancellationSignal: AbortSignal): Promise<AgentAttempt> {
      const redact = redactor(call.scope.vars, call.secrets);
      const requests: AgentRequest[] = [];
      const page = browserFor(call, cancellationSignal, redact);
      const records = (): AttemptRecords => ({ requests, ...(page ? { browser: page.handBack() } : {}) });
      let startedAt = runtime.clock();
      try {
        const result = await attemptStep(call, call.scope, call.attempt, cancellationSignal, runtime, {
          started: async (at) => {
            startedAt = at;
          },
          recordRequest: async (row) => {
            requests.push({ ...row, ts: row.ts.toISOString(), url: redact(row.url), error: redact(row.error) });
          },
          ...(page ? { browser: page.runtime } : {}),
        });
        if (result.skipped) return { status: 'skipped' };
        // The output and the files travel back in one payload.
        const bytes = Buffer.byteLength(JSON.stringify(result.output ?? null)) + (page ? handedBackBytes(page.handBack()) : 0);
        if (bytes > AGENT_MAX_OUTPUT_BYTES)
          throw ApplicationFailure.nonRetryable(`the step's output${page ? ' and files' : ''} come to ${bytes} bytes; an agent hands back at most ${AGENT_MAX_OUTPUT_BYTES}`, 'AgentOutputTooLarge');
        return { status: 'succeeded', output: result.output, startedAt: startedAt.toISOString(), finishedAt: result.finishedAt.toISOString(), ...records() };
      } catch (err) {
        // Cancelled: the platform no longer waits for an answer.
        if (cancellationSignal.aborted) throw err;
        const failure = err instanceof ApplicationFailure ? err : undefined;
        return {
          status: 'failed',
          error: redact((err as Error)?.message ?? String(err)),
          ...(failure?.type ? { errorType: failure.type } : {}),
          nonRetryable: failure?.nonRetryable ?? false,
          startedAt: startedAt.toISOString(),
          finishedAt: runtime.clock().toISOString(),
          ...records(),
        };
      }
    },
  };
}

export type AgentRunner = ReturnType<typeof createAgentRunner>;
