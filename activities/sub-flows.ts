/**
 * The child run of a `flow` step: the flow's current version, recorded as a run of the account
 * (outside any batch). Its id derives from the parent's and the step's, so a retry finds it.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { IsNull, type DataSource } from 'typeorm';
import type { FlowRunInput } from '../domain';
import { derivedId } from '../domain/derived-ids';
import { FlowEntity } from '../db/entities';
import { insertRunRows } from '../db/projections';
import { claimDescendant, type RunLimits } from '../db/run-limits';
import { MAX_FLOW_DEPTH } from '../steps/flow';

export function createSubFlowActivities(dataSource: DataSource, runLimits: RunLimits) {
  return {
    async prepareSubFlow(input: { parent: FlowRunInput; stepKey: string; flowId: string; data: unknown }): Promise<FlowRunInput> {
      const { parent, stepKey, flowId } = input;
      const ancestry = [...(parent.ancestry ?? []), parent.flow.id];
      if (ancestry.includes(flowId))
        throw ApplicationFailure.nonRetryable(`flow ${flowId} is already running above this step (${[...ancestry, flowId].join(' → ')}); a flow may not run itself`, 'FlowCycle');
      if (ancestry.length >= MAX_FLOW_DEPTH)
        throw ApplicationFailure.nonRetryable(`sub-flows nest at most ${MAX_FLOW_DEPTH} deep (${[...ancestry, flowId].join(' → ')})`, 'FlowDepth');
      const flow = await dataSource.getRepository(FlowEntity).findOneBy({ accountId: parent.accountId, id: flowId, deletedAt: IsNull() });
      if (!flow) throw ApplicationFailure.nonRetryable(`flow ${flowId} does not exist in this account`, 'FlowNotFound');
      const child: FlowRunInput = {
        runId: derivedId('sub-flow', parent.runId, stepKey),
        batchId: parent.batchId,
        accountId: parent.accountId,
        source: parent.source,
        position: 0,
        flow: flow.definition,
        flowVersion: flow.version,
        variables: flow.definition.variables,
        ...(flow.definition.secrets?.length ? { secrets: flow.definition.secrets } : {}),
        trigger: { body: input.data ?? null },
        ancestry,
        rootRunId: parent.rootRunId ?? parent.runId,
        ...(parent.agent ? { agent: parent.agent } : {}),
      };
      const actor = { id: parent.publicId ?? parent.runId, name: `flow step ${stepKey} of run ${parent.publicId ?? parent.runId}`, type: 'system' as const };
      const meta = { actor, appId: null, buildId: null, browser: null, tags: [], idempotencyKey: null, requestHash: null };
      await dataSource.transaction(async (m) => {
        const bound = runLimits.maxRunDescendants;
        const claim = await claimDescendant(m, child.rootRunId!, child.runId, bound);
        if (!claim.claimed)
          throw ApplicationFailure.nonRetryable(
            `flow ${flowId} not started: ${bound} runs were already started through flow steps under run ${claim.rootPublicId}, the most one run may start (FLOWRUNS_MAX_RUN_DESCENDANTS=${bound})`,
            'FlowDescendants',
          );
        await insertRunRows(m, { accountId: parent.accountId, source: parent.source, meta, runs: [child] }, null);
      });
      return child;
    },
  };
}
