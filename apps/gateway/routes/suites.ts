import type { GatewayDeps } from '../deps';
import type { AnyRoute } from '../http/route';

/** Suites: /api/v1/suites CRUD. */
export const suiteRoutes = (_deps: GatewayDeps): AnyRoute[] => [];
