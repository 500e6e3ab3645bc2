/** Every route of the gateway, in mount order: literal segments before the parameters that would swallow them. */
import type { GatewayDeps } from '../deps';
import type { AnyRoute } from '../http/route';
import { accountRoutes } from './accounts';
import { apiKeyRoutes } from './api-keys';
import { appRoutes } from './apps';
import { approvalRoutes } from './approvals';
import { docsRoutes } from './docs';
import { flowRoutes } from './flows';
import { healthRoutes } from './health';
import { runRoutes } from './runs';
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
  ];
  return routes;
}
