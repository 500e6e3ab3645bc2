/**
 * The platform's side of a step run on an agent (activities/agent.ts): the scope it is handed with
 * its large outputs loaded, and each attempt it hands back, recorded as a platform worker records its own.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { DataSource } from 'typeorm';
import type { ExpressionScope } from '../domain';
import type { ArtifactStore } from '../db/artifact-store';
import type { Projections } from '../db/projections';
import { findRunOwner } from '../db/runs';
import { redactor } from '../domain/secrets';
import { RUN_GONE } from '../steps/step-type';
import type { RecordedCall } from '../workflows/contract';
import type { AgentAttempt } from './agent';
import { recordHandedBack, type AgentPageRecords } from './browser/agent-recorder';
import { platformRecorder } from './browser/recorder';
import type { OutputRefs } from './output-refs';
import { patiently } from './patience';
import { timing, type StepRecords } from './step-records';

export interface AgentRecordDeps {
  dataSource: DataSource;
  projections: Projections;
  recordPatienceMs: number;
  outputs: OutputRefs;
  steps: StepRecords;
  /** The artifact store a browser step's files go to; without it an agent's browser step cannot be recorded. */
  store?: ArtifactStore;
}

export function createAgentRecordActivities({ dataSource, projections, recordPatienceMs, outputs, steps, store }: AgentRecordDeps) {
  /** A browser step's files and records an agent handed back, kept as a platform worker keeps its own (masked again: the agent is not trusted to). */
  const recordPageOfAgent = async (call: RecordedCall, attempt: number, records: AgentPageRecords, redact: <T>(v: T) => T) => {
    if (!store) throw ApplicationFailure.nonRetryable('this worker has no artifact store for the files of a browser step', 'BrowserUnavailable');
    const owner = await patiently(() => findRunOwner(dataSource, call.runId), recordPatienceMs);
    if (!owner) throw ApplicationFailure.nonRetryable(`run ${call.runId} no longer exists`, RUN_GONE);
    const recorder = platformRecorder({ store, projections, dataSource });
    const { accountId, flowId, publicId: publicRunId } = owner;
    await recordHandedBack(recorder, { runId: call.runId, stepKey: call.key, attempt, accountId, flowId, publicRunId }, {
      ...records,
      requests: redact(records.requests),
      lines: redact(records.lines),
      details: redact(records.details),
    });
  };

  return {
    /** The scope with its large outputs loaded, for a step that runs on an agent (which has no database). */
    async resolveScope(scope: ExpressionScope): Promise<ExpressionScope> {
      return outputs.resolved(scope);
    },

    /**
     * Records one attempt an agent made (activities/agent.ts, handed back by \`dispatchToAgent\`) as a platform worker records its own:
     * the step row, its requests and log lines; a large output is kept here and passed on by reference.
     */
    async recordAgentAttempt({ call, attempt, result }: { call: RecordedCall; attempt: number; result: AgentAttempt }): Promise<{ output: unknown }> {
      if (result.status === 'skipped') return { output: null };
      const redact = redactor(call.vars, call.secrets);
      const startedAt = new Date(result.startedAt);
      const finishedAt = new Date(result.finishedAt);
      await steps.running(call, attempt, startedAt);
      await projections.requests(result.requests.map((row) => ({ ...row, ts: new Date(row.ts), url: redact(row.url), error: redact(row.error), runId: call.runId, stepId: call.key })));
      if (result.browser) await recordPageOfAgent(call, attempt, result.browser, redact);
      if (result.status === 'failed') {
        await steps.attemptFailed(call, attempt, redact(result.error));
        return { output: null };
      }
      const output = await outputs.passable(call, result.output);
      await steps.succeeded(call, { ...timing(attempt, startedAt, finishedAt), output: redact(result.output) }, finishedAt);
      return { output };
    },
  };
}
