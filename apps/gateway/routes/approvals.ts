/** Approving or rejecting a waiting `approval` step of a run. */
import { z } from 'zod';
import type { GatewayDeps } from '../deps';
import { defineRoute, type AnyRoute } from '../http/route';
import { decideApproval } from '../use-cases/approvals';

const params = z.object({ runId: z.string().min(1), stepId: z.string().min(1) });
const body = z.object({ comment: z.string().max(2000).optional() });
const response = z.object({
  run_id: z.string(),
  step_id: z.string(),
  approved: z.boolean(),
  reviewed_by: z.string(),
  reviewed_at: z.string(),
});

export const approvalRoutes = (deps: GatewayDeps): AnyRoute[] =>
  (['approve', 'reject'] as const).map((verb) =>
    defineRoute({
      method: 'post',
      path: `/api/v1/runs/:runId/steps/:stepId/${verb}`,
      tag: 'Operations',
      summary: `${verb === 'approve' ? 'Approve' : 'Reject'} a waiting approval step`,
      params,
      body,
      status: 202,
      response,
      handler: ({ params: p, body: b, auth }) => decideApproval(deps, auth, p.runId, p.stepId, verb === 'approve', b.comment),
    }),
  );
