/** The agent-runs contract's responses (docs/api-contracts.md): agents as Temporal's pollers show them, and the run started on one. */
import { z } from 'zod';

const pollerSchema = z.object({ identity: z.string(), lastAccessTime: z.string() });
export type Poller = z.infer<typeof pollerSchema>;

export const agentSchema = z.object({
  id: z.string(),
  name: z.string(),
  taskQueue: z.string(),
  lastPollTime: z.string().nullable(),
  online: z.boolean(),
  pollers: z.array(pollerSchema),
});
export type Agent = z.infer<typeof agentSchema>;

export const agentListSchema = z.object({ data: z.array(agentSchema) });

export const agentRunSchema = z.object({ $id: z.string(), RunId: z.string() });

export const agentListView = (agents: Agent[]): z.infer<typeof agentListSchema> => ({ data: agents });

/** `$id` is the contract's serializer reference, always "1" for a single object. */
export const agentRunView = (runId: string): z.infer<typeof agentRunSchema> => ({ $id: '1', RunId: runId });
