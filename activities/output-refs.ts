/**
 * Large outputs: kept whole in Postgres and passed between steps by reference (domain/output-refs.ts),
 * since a Temporal payload holds at most a few MB; resolved again before a step reads its scope.
 */
import type { ExpressionScope } from '../domain';
import { isOutputRef, type OutputRef } from '../domain/output-refs';
import type { Projections } from '../db/projections';
import type { StepRef } from '../workflows/contract';

export interface OutputRefs {
  /** The scope with every large-output reference replaced by the output it stands for. */
  resolved(scope: ExpressionScope): Promise<ExpressionScope>;
  /** The output itself, or, when it is too large for a Temporal payload, a reference to it kept in Postgres. */
  passable(call: StepRef, output: unknown): Promise<unknown>;
}

export function outputRefs(projections: Projections, inlineOutputBytes: number): OutputRefs {
  return {
    async resolved(scope) {
      const entries = [...Object.values(scope.steps), ...Object.values(scope.auth)];
      const refs = entries.map((e) => e.output).filter(isOutputRef);
      if (refs.length === 0) return scope;
      const loaded = await projections.loadOutputs(refs);
      const resolve = (view: ExpressionScope['steps']) =>
        Object.fromEntries(
          Object.entries(view).map(([id, e]) => [
            id,
            isOutputRef(e.output) ? { ...e, output: loaded.get(`${e.output.$outputRef.runId}\n${e.output.$outputRef.stepId}`) ?? null } : e,
          ]),
        );
      return { ...scope, steps: resolve(scope.steps), auth: resolve(scope.auth) };
    },

    async passable(call, output) {
      const bytes = Buffer.byteLength(JSON.stringify(output ?? null));
      if (bytes <= inlineOutputBytes) return output;
      await projections.keepOutput(call.runId, call.key, output, bytes);
      const ref: OutputRef = { $outputRef: { runId: call.runId, stepId: call.key, bytes } };
      return ref;
    },
  };
}
