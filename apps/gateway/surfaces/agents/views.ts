/** The agent-runs contract's responses (docs/api-contracts.md): an account's agents, what they run, and the run started on one. */
import { z } from 'zod';

const pollerSchema = z.object({ identity: z.string(), lastAccessTime: z.string() });

const runningSchema = z.object({
  attemptId: z.string(),
  runId: z.string(),
  stepId: z.string(),
  attempt: z.number().int(),
  identity: z.string().nullable(),
  since: z.string(),
});

export const agentSchema = z.object({
  id: z.string(),
  name: z.string(),
  /** When an agent process of this name last long-polled or beat; null: never (in the last 10 minutes). */
  lastPollTime: z.string().nullable(),
  /** An agent process of this name polled within the last 30 s. */
  online: z.boolean(),
  /** The agent processes of this name seen in the last 10 minutes (`agent:<name>@<host>:<pid>`). */
  pollers: z.array(pollerSchema),
  /** The step attempts its processes are running now. */
  running: z.array(runningSchema),
});
export type Agent = z.infer<typeof agentSchema>;

export const agentListSchema = z.object({ data: z.array(agentSchema) });

export const agentRunSchema = z.object({ $id: z.string(), RunId: z.string() });

export const agentListView = (agents: Agent[]): z.infer<typeof agentListSchema> => ({ data: agents });

/** `$id` is the contract's serializer reference, always "1" for a single object. */
export const agentRunView = (runId: string): z.infer<typeof agentRunSchema> => ({ $id: '1', RunId: runId });
