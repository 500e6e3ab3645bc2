/** Every route of the gateway, in mount order: literal segments before the parameters that would swallow them. */
import { codecRoutes } from './codec/routes';
import { accountRoutes } from './definitions/accounts/routes';
import { apiKeyRoutes } from './definitions/api-keys/routes';
import { appRoutes } from './definitions/apps/routes';
import { docsRoutes } from './definitions/docs/routes';
import { flowRoutes } from './definitions/flows/routes';
import { healthRoutes } from './definitions/health/routes';
import { settingsRoutes } from './definitions/settings/routes';
import { suiteRoutes } from './definitions/suites/routes';
import { runDeps, type GatewayDeps } from './deps';
import { scheduleRoutes } from './schedules/routes';
import { visualRoutes } from './visual/routes';
import type { AnyRoute } from './http/route';
import { actionRunRoutes } from './surfaces/flow-runs/routes';
import { agentRunRoutes } from './surfaces/agents/routes';
import { ciBatchRoutes } from './surfaces/ci-batches/routes';
import { flowRunRoutes } from './surfaces/flows-runs/routes';
import { flowRunObjectRoutes } from './surfaces/ops-flowrun/routes';

export function allRoutes(deps: GatewayDeps): AnyRoute[] {
  const runs = runDeps(deps);
  const routes: AnyRoute[] = [
    ...healthRoutes(deps),
    ...docsRoutes(() => routes),
    ...accountRoutes(deps),
    ...apiKeyRoutes(deps),
    ...settingsRoutes(deps),
    ...appRoutes(deps),
    ...ciBatchRoutes(runs),
    ...flowRunRoutes(runs),
    ...flowRoutes(deps),
    ...suiteRoutes(deps),
    ...flowRunObjectRoutes(runs),
    ...actionRunRoutes(runs),
    ...agentRunRoutes(deps),
    ...scheduleRoutes(deps),
    ...visualRoutes(deps),
    ...codecRoutes(deps),
  ];
  return routes;
}
