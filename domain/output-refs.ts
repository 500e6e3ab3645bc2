/**
 * A step output too large to travel through Temporal (whose payloads stop at 2 MB) is kept in
 * Postgres and passed between steps as a reference; activities resolve it before expressions read
 * it. Pure: the workflow bundle imports this file too.
 */
/** Well under Temporal's 2 MB payload limit, with room for the rest of a step's scope. */
export const DEFAULT_INLINE_OUTPUT_BYTES = 256 * 1024;

export interface OutputRef {
  $outputRef: { runId: string; stepId: string; bytes: number };
}

export const isOutputRef = (v: unknown): v is OutputRef =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as OutputRef).$outputRef === 'object';

/** Whether any step output the scope shows is a reference still to be loaded. */
export const scopeHasRefs = (scope: { steps: Record<string, { output?: unknown }>; auth: Record<string, { output?: unknown }> }): boolean =>
  [...Object.values(scope.steps), ...Object.values(scope.auth)].some((e) => isOutputRef(e.output));
