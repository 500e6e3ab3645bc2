/**
 * A run's records: its start and end, the steps its workflow ran itself, a cancelled batch's runs.
 * A run's start and end are written by the workflow's own record (`always`) or by a step's activity
 * on its behalf (`from-step`, workflows/contract.ts \`CarriedRunRecords\`), which never reopens or
 * re-ends a run its workflow run has ended.
 */
import { Context } from '@temporalio/activity';
import type { Projections, StepRow } from '../db/projections';
import { workerLog } from '../platform/log';
import { runsFinished, runsStarted, stepDuration } from '../platform/metrics';
import { stepType } from '../steps';
import type { RunEnd, RunRecorded, StepCall } from '../workflows/contract';

/** Who records a run's start or end: the workflow itself, or a step's activity on its behalf (\`CarriedRunRecords\`). */
type RecordMode = 'always' | 'from-step';

export type RunRecords = ReturnType<typeof runRecords>;

export function runRecords(projections: Projections) {
  /**
   * A run's start: \`always\` from the workflow's own record; \`from-step\` from a step's activity,
   * which does not reopen a run its workflow run has ended (the attempt may run after a cancel).
   */
  const runStarted = async (runId: string, steps: StepRow[], mode: RecordMode): Promise<boolean> => {
    const written = await projections.runStartedWithSteps(runId, Context.current().info.workflowExecution?.runId ?? '', steps, mode === 'from-step');
    if (written) runsStarted.inc();
    return written;
  };

  /** A run's end: \`always\` from the workflow's own record; \`from-step\` only while its workflow run has it open. */
  const runFinished = async (input: RunEnd, mode: RecordMode): Promise<boolean> => {
    const onlyOpenOf = mode === 'from-step' ? (Context.current().info.workflowExecution?.runId ?? '') : undefined;
    if (!(await projections.runFinished(input.runId, input, onlyOpenOf))) return false;
    runsFinished.inc({ status: input.status });
    workerLog.info({ runId: input.runId, status: input.status, ...(input.error ? { failedStep: input.error.step } : {}) }, `run ${input.status}`);
    // Steps the workflow ran itself, and every failed or cancelled one, end here.
    for (const s of input.steps)
      if (s.durationMs !== undefined && (s.status !== 'succeeded' || stepType(s.type)?.runsIn === 'workflow'))
        stepDuration.observe({ type: s.type, status: s.status }, s.durationMs / 1000);
    return true;
  };

  return {
    runStarted,
    runFinished,

    /** What an activity reports of its \`CarriedRunRecords\`: nothing when it recorded neither. */
    recordedOf: (start?: true, finish?: true): RunRecorded => (start || finish ? { recorded: { ...(start && { start }), ...(finish && { finish }) } } : {}),

    carriedStart: async (call: StepCall): Promise<true | undefined> =>
      call.run?.start && (await runStarted(call.runId, call.run.start, 'from-step')) ? true : undefined,

    /** The run's success, when this step ends it: its outputs are the succeeded steps' of the scope, this one's among them. */
    carriedFinish: async (call: StepCall, output: unknown, redact: <T>(v: T) => T): Promise<true | undefined> => {
      if (!call.run?.finish) return undefined;
      const outputs = Object.fromEntries(
        Object.entries(call.scope.steps)
          .filter(([id, s]) => id === call.key || s.status === 'succeeded')
          .map(([id, s]) => [id, id === call.key ? output : s.output]),
      );
      return (await runFinished({ runId: call.runId, status: 'succeeded', error: null, outputs: redact(outputs), steps: call.run.finish }, 'from-step')) ? true : undefined;
    },
  };
}

/** The activities the workflows record a run with. */
export function createRunRecordActivities(projections: Projections, runs: RunRecords) {
  return {
    async recordRunStarted(input: { runId: string; steps: StepRow[] }): Promise<void> {
      await runs.runStarted(input.runId, input.steps, 'always');
    },

    /** Records steps the workflow ran itself; `runStatus` moves the run in and out of `waiting`. */
    async recordSteps(input: { runId: string; steps: StepRow[]; runStatus?: 'running' | 'waiting' }): Promise<void> {
      await projections.upsertSteps(input.runId, input.steps);
      if (input.runStatus) await projections.runStatus(input.runId, input.runStatus);
      await projections.log(
        input.runId,
        input.steps.map((s) => ({
          key: `step.${s.id}.${s.status}`,
          level: s.status === 'failed' ? 'error' : 'info',
          stepId: s.id,
          message: `step ${s.id} ${s.status}${s.error ? `: ${s.error}` : ''}`,
        })),
      );
    },

    async recordRunFinished(input: RunEnd): Promise<void> {
      await runs.runFinished(input, 'always');
    },

    async recordRunsCancelled(input: { runIds: string[] }): Promise<void> {
      await projections.runsCancelled(input.runIds);
    },
  };
}
