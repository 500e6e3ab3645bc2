/** A step's records as its activities write them: its start, its success, a failed attempt. */
import type { RunRequest } from '../db/entities';
import type { LogLine, Projections, StepRow } from '../db/projections';
import type { StepDefinition } from '../domain';
import type { StepRef } from '../workflows/contract';

export const stepName = (step: StepDefinition): string => step.name ?? step.id;

export const timing = (attempt: number, startedAt: Date, finishedAt: Date) => ({
  attempts: attempt,
  startedAt: startedAt.toISOString(),
  finishedAt: finishedAt.toISOString(),
  durationMs: finishedAt.getTime() - startedAt.getTime(),
});

/** The log line of an attempt's start. */
export const startLine = (call: StepRef, attempt: number, startedAt: Date): LogLine => ({
  key: `step.${call.key}.attempt.${attempt}`,
  level: 'info',
  stepId: call.key,
  message: `step ${call.key} started (attempt ${attempt})`,
  ts: startedAt,
});

/** A step's row as its records start it: who it is and its status. */
export const stepRow = (call: StepRef, status: StepRow['status']): Pick<StepRow, 'id' | 'position' | 'name' | 'type' | 'status' | 'error'> => ({ id: call.key, position: call.position, name: stepName(call.step), type: call.step.type, status, error: undefined });

/** The log line of a step's success. */
export const succeededLine = (call: StepRef, finishedAt: Date): LogLine => ({ key: `step.${call.key}.succeeded`, level: 'info', stepId: call.key, message: `step ${call.key} succeeded`, ts: finishedAt });

export type StepRecords = ReturnType<typeof stepRecords>;

export function stepRecords(projections: Projections) {
  return {
    async running(call: StepRef, attempt: number, startedAt: Date) {
      const row: StepRow = {
        id: call.key,
        position: call.position,
        name: stepName(call.step),
        type: call.step.type,
        status: 'running',
        attempts: attempt,
        startedAt: startedAt.toISOString(),
      };
      await projections.stepStarted(call.runId, row, startLine(call, attempt, startedAt));
    },

    /** A step's success; \`started\`: its attempt's start line, when the start was not written on its own (\`heldStart\`). */
    async succeeded(call: StepRef, fields: Omit<StepRow, 'id' | 'position' | 'name' | 'type' | 'status'>, finishedAt: Date, requests: readonly RunRequest[] = [], started?: LogLine) {
      const row: StepRow = { ...stepRow(call, 'succeeded'), ...fields };
      const line = succeededLine(call, finishedAt);
      await projections.stepLogged(call.runId, row, started ? [started, line] : [line], requests);
    },

    attemptFailed(call: StepRef, attempt: number, message: string) {
      return projections.log(call.runId, [
        { key: `step.${call.key}.attempt.${attempt}.error`, level: 'warn', stepId: call.key, message: `step ${call.key} attempt ${attempt} failed: ${message}` },
      ]);
    },
  };
}
