import type { GatewayDeps } from '../deps';
import type { AnyRoute } from '../http/route';

/** Seed 000 run status / run results / artifacts and seed 004 runs of a flow. */
export const runRoutes = (_deps: GatewayDeps): AnyRoute[] => [];
