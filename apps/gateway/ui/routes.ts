/**
 * The dashboard's pages and actions, mounted by ui/dashboard.ts behind its session handler: every
 * lookup is the signed-in account's, every POST carries the session's CSRF token (checked by the
 * handler), every action does what the API's route of the same name does. Open runs and batches
 * stream their events through `/ui/…/events`, authorised by the session cookie (path `/ui`,
 * SameSite=Lax, never sent to the API): the API's own streams keep wanting a key.
 */
import type { Request, Response, Router } from 'express';
import type { AuthContext, RunDeps, Scope } from '../deps';
import { sendRunFile } from '../http/files';
import { sendJsonl } from '../http/request';
import { cancelBatch, cancelRun } from '../runs/cancel';
import { batchEvents, runEvents } from '../runs/events';
import { rerunBatch, rerunRun, resumeRun } from '../runs/rerun';
import { pauseSchedule, triggerSchedule } from '../schedules/use-cases';
import { decideApproval, logLines, networkLines, performance } from '../surfaces/ci-batches/use-cases';
import { artifactFile, baselineImage, promoteScreenshot } from '../visual/use-cases';
import { batchPage } from './batch-page';
import { flowPage, runFlowFromForm } from './flow-page';
import { page, parseEnv, queryParam, seg } from './html';
import { LIVE_JS } from './live';
import { reviewPage } from './review-page';
import { runPage } from './run-page';
import { runsPage } from './runs-page';
import { schedulesPage } from './schedules-page';

export interface SignedIn {
  auth: AuthContext;
  csrf: string;
}

export type Handle = (scope: Scope, fn: (req: Request, res: Response, s: SignedIn) => Promise<void>) => (req: Request, res: Response) => Promise<void>;

const html = (res: Response, status: number, body: string): void => {
  res.status(status).type('html').set('Cache-Control', 'no-store').send(body);
};
const see = (res: Response, to: string): void => res.redirect(303, to);
const param = (req: Request, name: string): string => String(req.params[name]);
const baseUrlOf = (req: Request) => `${req.protocol}://${req.get('host')}`;

export function mountPages(ui: Router, deps: RunDeps, handle: Handle): void {
  // The one script: public (it holds nothing), same origin, cached briefly.
  ui.get('/live.js', (_req, res) => {
    res.status(200).type('text/javascript').set('Cache-Control', 'public, max-age=300').send(LIVE_JS);
  });
  ui.get('/', handle('read', async (req, res, { auth, csrf }) => html(res, 200, await runsPage(deps, auth, csrf, req))));
  ui.get('/schedules', handle('read', async (_req, res, { auth, csrf }) => html(res, 200, await schedulesPage(deps, auth, csrf))));
  ui.get('/runs/:runId', handle('read', async (req, res, { auth, csrf }) => html(res, 200, await runPage(deps, auth, csrf, param(req, 'runId'), baseUrlOf(req)))));
  ui.get('/batches/:batchId', handle('read', async (req, res, { auth, csrf }) => html(res, 200, await batchPage(deps, auth, csrf, param(req, 'batchId')))));
  ui.get('/flows/:flowId', handle('read', async (req, res, { auth, csrf }) => html(res, 200, await flowPage(deps, auth, csrf, param(req, 'flowId')))));
  ui.get(
    '/runs/:runId/screenshots/:name',
    handle('read', async (req, res, { auth, csrf }) =>
      html(res, 200, await reviewPage(deps, auth, csrf, { runId: param(req, 'runId'), name: param(req, 'name'), stepId: queryParam(req, 'step') })),
    ),
  );

  // Live progress, for the pages' script: the API's event streams, authorised by the session.
  const heartbeatMs = deps.config.sseHeartbeatMs;
  ui.get('/runs/:runId/events', handle('read', async (req, res, { auth }) => void (await runEvents(deps, req, res, auth, param(req, 'runId'), { heartbeatMs }))));
  ui.get('/batches/:batchId/events', handle('read', async (req, res, { auth }) => void (await batchEvents(deps, req, res, auth, param(req, 'batchId'), { heartbeatMs }))));

  // A run's files, behind the session (the API's own URLs want a key header).
  ui.get(
    '/runs/:runId/artifacts/:file',
    handle('read', async (req, res, { auth }) => {
      const runId = param(req, 'runId');
      if (req.params.file === 'log.jsonl') await sendJsonl(res, await logLines(deps, auth.accountId, runId));
      else if (req.params.file === 'network.jsonl') await sendJsonl(res, await networkLines(deps, auth.accountId, runId));
      else if (req.params.file === 'performance.json') res.json(await performance(deps, auth.accountId, runId));
      else html(res, 404, page('Not found', '<h1>Not found</h1>'));
    }),
  );
  ui.get(
    '/runs/:runId/screenshots/:stepId/:file',
    handle('read', async (req, res, { auth }) => {
      const file = param(req, 'file');
      const f = await artifactFile(deps, auth.accountId, param(req, 'runId'), param(req, 'stepId'), file);
      sendRunFile(res, file, f.contentType, f.data);
    }),
  );
  ui.get(
    '/flows/:flowId/baselines/:stepId/:file',
    handle('read', async (req, res, { auth }) => {
      const key = { flowId: param(req, 'flowId'), stepId: param(req, 'stepId'), name: param(req, 'file').replace(/\.png$/, ''), browser: queryParam(req, 'browser') ?? '', viewport: queryParam(req, 'viewport') ?? '' };
      const png = await baselineImage(deps, auth.accountId, key);
      res.status(200).type('image/png').set({ 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' }).end(png);
    }),
  );

  // Actions: each redirects to the page that shows its outcome.
  ui.post(
    '/runs/:runId/cancel',
    handle('run', async (req, res, { auth }) => {
      await cancelRun(deps, auth.accountId, param(req, 'runId'));
      see(res, `/ui/runs/${seg(param(req, 'runId'))}`);
    }),
  );
  ui.post(
    '/runs/:runId/rerun',
    handle('run', async (req, res, { auth }) => see(res, `/ui/runs/${seg((await rerunRun(deps, auth, param(req, 'runId'))).runs[0]!.id)}`)),
  );
  ui.post(
    '/runs/:runId/resume',
    handle('run', async (req, res, { auth }) => {
      const env = parseEnv((req.body as Record<string, unknown> | undefined)?.env);
      see(res, `/ui/runs/${seg((await resumeRun(deps, auth, param(req, 'runId'), env)).runs[0]!.id)}`);
    }),
  );
  for (const verb of ['approve', 'reject'] as const)
    ui.post(
      `/runs/:runId/steps/:stepId/${verb}`,
      handle('run', async (req, res, { auth }) => {
        await decideApproval(deps, auth, param(req, 'runId'), param(req, 'stepId'), verb === 'approve', 'from the dashboard');
        see(res, `/ui/runs/${seg(param(req, 'runId'))}`);
      }),
    );
  ui.post(
    '/runs/:runId/screenshots/:name/promote',
    handle('run', async (req, res, { auth }) => {
      const stepId = (req.body as Record<string, unknown> | undefined)?.step_id;
      const step = typeof stepId === 'string' && stepId ? stepId : undefined;
      await promoteScreenshot(deps, auth.accountId, param(req, 'runId'), param(req, 'name'), step, baseUrlOf(req));
      see(res, `/ui/runs/${seg(param(req, 'runId'))}/screenshots/${seg(param(req, 'name'))}${step ? `?step=${seg(step)}` : ''}`);
    }),
  );
  ui.post(
    '/batches/:batchId/cancel',
    handle('run', async (req, res, { auth }) => {
      await cancelBatch(deps, auth.accountId, param(req, 'batchId'));
      see(res, `/ui/batches/${seg(param(req, 'batchId'))}`);
    }),
  );
  ui.post(
    '/batches/:batchId/rerun',
    handle('run', async (req, res, { auth }) => see(res, `/ui/batches/${seg((await rerunBatch(deps, auth, param(req, 'batchId'), 'failed')).batch_id)}`)),
  );
  ui.post('/flows/:flowId/run', handle('run', async (req, res, { auth }) => see(res, `/ui/runs/${seg(await runFlowFromForm(deps, auth, param(req, 'flowId'), req))}`)));
  for (const verb of ['pause', 'unpause'] as const)
    ui.post(
      `/schedules/:id/${verb}`,
      handle('run', async (req, res, { auth }) => {
        await pauseSchedule(deps, auth, param(req, 'id'), verb === 'pause', 'from the dashboard');
        see(res, `/ui/schedules#schedule-${seg(param(req, 'id'))}`);
      }),
    );
  ui.post(
    '/schedules/:id/trigger',
    handle('run', async (req, res, { auth }) => {
      await triggerSchedule(deps, auth, param(req, 'id'));
      see(res, `/ui/schedules#schedule-${seg(param(req, 'id'))}`);
    }),
  );
}
