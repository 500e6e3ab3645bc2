import type { GatewayDeps } from '../deps';
import type { AnyRoute } from '../http/route';

/** Seed 001 FlowRun objects at /v1/ops/flowrun. */
export const seed001Routes = (_deps: GatewayDeps): AnyRoute[] => [];
