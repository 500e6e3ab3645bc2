import type { GatewayDeps } from '../deps';
import type { AnyRoute } from '../http/route';

/** Seed 002 flow-runs at /api/v1/flow-runs. */
export const seed002Routes = (_deps: GatewayDeps): AnyRoute[] => [];
