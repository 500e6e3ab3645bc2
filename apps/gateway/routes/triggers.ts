import type { GatewayDeps } from '../deps';
import type { AnyRoute } from '../http/route';

/** Seed 000 `POST /api/v1/flows/run` and seed 004 `POST /api/v1/flows/{flowId}/runs`. */
export const triggerRoutes = (_deps: GatewayDeps): AnyRoute[] => [];
