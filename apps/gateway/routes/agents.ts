import type { GatewayDeps } from '../deps';
import type { AnyRoute } from '../http/route';

/** Seed 003 agents: GET /api/v1/agents and PUT /api/v4/flows/{flowId}/agent/{agentId}. */
export const agentRoutes = (_deps: GatewayDeps): AnyRoute[] => [];
