/**
 * An attempt's start record, held back: a step still running after `START_RECORD_DELAY_MS` has its
 * start written; one that ends sooner (most http and transform steps) writes its start with its
 * end, in one statement. Until then the run's detail shows the step running from the workflow's
 * live state, not from this row.
 */
import type { LogLine } from '../db/projections';

/** How long a step's start is held back. */
export const START_RECORD_DELAY_MS = 200;

/** An attempt's start record, held back \`START_RECORD_DELAY_MS\`. */
export interface HeldStart {
  /** For the attempt's end: the start line to write with it, or nothing once the start was written (awaited). */
  take(): Promise<LogLine | undefined>;
  /** Writes the start now unless it was written (an attempt that failed). */
  write(): Promise<void>;
}

export function heldStart(write: () => Promise<void>, line: LogLine): HeldStart {
  let writing: Promise<void> | undefined;
  const begin = () => {
    writing ??= write();
    // Awaited by take or write; until then a failure must not be an unhandled rejection.
    writing.catch(() => undefined);
    return writing;
  };
  const timer = setTimeout(begin, START_RECORD_DELAY_MS);
  return {
    async take() {
      clearTimeout(timer);
      if (!writing) return line;
      await writing;
      return undefined;
    },
    async write() {
      clearTimeout(timer);
      await begin();
    },
  };
}
