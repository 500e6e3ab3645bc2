/** Every route of the gateway, in mount order: literal segments before the parameters that would swallow them. */
import type { GatewayDeps } from '../deps';
import type { AnyRoute } from '../http/route';
import { accountRoutes } from './accounts';
import { apiKeyRoutes } from './api-keys';
import { agentRoutes } from './agents';
import { appRoutes } from './apps';
import { approvalRoutes } from './approvals';
import { docsRoutes } from './docs';
import { seed002Routes } from './flow-runs';
import { seed001Routes } from './flowrun-objects';
import { flowRoutes } from './flows';
import { healthRoutes } from './health';
import { runRoutes } from './runs';
import { suiteRoutes } from './suites';
import { triggerRoutes } from './triggers';

export function allRoutes(deps: GatewayDeps): AnyRoute[] {
  const routes: AnyRoute[] = [
    ...healthRoutes(deps),
    ...docsRoutes(() => routes),
    ...accountRoutes(deps),
    ...apiKeyRoutes(deps),
    ...appRoutes(deps),
    ...triggerRoutes(deps),
    ...runRoutes(deps),
    ...approvalRoutes(deps),
    ...flowRoutes(deps),
    ...suiteRoutes(deps),
    ...seed001Routes(deps),
    ...seed002Routes(deps),
    ...agentRoutes(deps),
  ];
  return routes;
}
