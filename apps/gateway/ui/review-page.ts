/**
 * `/ui/runs/{runId}/screenshots/{name}` (`?step=ID` when several steps took one by that name):
 * the visual review of a run's screenshot — the flow's current baseline, the run's image and the
 * diff side by side, the similarity the run recorded, and a Promote button that makes the image
 * the baseline later runs are compared with (as `POST /api/v1/runs/{runId}/screenshots/{name}/promote`).
 */
import { NotFoundError } from '../../../domain/errors';
import type { AuthContext, RunDeps } from '../deps';
import { findRun } from '../runs/queries';
import { badge, esc, flowLink, form, page, runLink, seg, time } from './html';
import { currentBaseline, screenshotFiles } from './queries';

export interface ReviewTarget {
  runId: string;
  name: string;
  stepId?: string;
}

/** The `/ui` address of a flow's baseline image. */
export const baselineSrc = (k: { flowId: string; stepId: string; name: string; browser: string; viewport: string }): string =>
  `/ui/flows/${seg(k.flowId)}/baselines/${seg(k.stepId)}/${seg(k.name)}.png?${new URLSearchParams({ browser: k.browser, viewport: k.viewport }).toString()}`;

export async function reviewPage(deps: RunDeps, auth: AuthContext, csrf: string, t: ReviewTarget): Promise<string> {
  const run = await findRun(deps.dataSource, auth.accountId, t.runId);
  if (!run) throw new NotFoundError('run', ['runId']);
  const found = await screenshotFiles(deps.dataSource, run.id, t.name, t.stepId);
  if (found.length === 0) throw new NotFoundError(`screenshot ${t.name}${t.stepId ? ` of step ${t.stepId}` : ''}`, ['name']);
  if (found.length > 1) {
    const links = found.map((f) => `<li><a href="/ui/runs/${seg(run.publicId)}/screenshots/${seg(t.name)}?step=${seg(f.stepId)}">step ${esc(f.stepId)}</a></li>`).join('');
    return page(`Screenshot ${t.name}`, `<h1>Screenshot ${esc(t.name)}</h1><p>Several steps of run ${runLink(run.publicId)} took a screenshot by this name:</p><ul>${links}</ul>`, { csrf });
  }
  const f = found[0]!;
  const m = f.shot!.meta;
  const key = { flowId: m.flowId ?? run.flowId, stepId: f.stepId, name: t.name, browser: m.browser ?? '', viewport: m.viewport ?? '' };
  const baseline = m.browser && m.viewport ? await currentBaseline(deps.dataSource, auth.accountId, key) : null;
  const file = (n: string) => `/ui/runs/${seg(run.publicId)}/screenshots/${seg(f.stepId)}/${seg(n)}`;
  const similarity = f.diff?.meta.similarity;
  const isBaseline = baseline?.runId === run.publicId;
  const comparedWith = f.diff?.meta.baselineRunId;
  const figure = (caption: string, src: string | null, alt: string) =>
    `<figure><figcaption><strong>${caption}</strong></figcaption>${src ? `<a href="${esc(src)}"><img src="${esc(src)}" alt="${esc(alt)}" width="${esc(m.width ?? 400)}" height="${esc(m.height ?? 300)}"></a>` : '<p>none</p>'}</figure>`;
  const promote = isBaseline
    ? '<p id="promoted">This image is the baseline.</p>'
    : form(
        `/ui/runs/${seg(run.publicId)}/screenshots/${seg(t.name)}/promote`,
        csrf,
        `<input type="hidden" name="step_id" value="${esc(f.stepId)}"><button type="submit" id="promote">Promote to baseline</button>`,
      );
  return page(
    `Review ${t.name}`,
    `<h1>Visual review: ${esc(t.name)} ${similarity === undefined ? '' : badge(similarity >= 100 ? 'succeeded' : 'failed', `${similarity}% similar`)}</h1>
<dl class="facts"><dt>Run</dt><dd>${runLink(run.publicId)} ${badge(run.status)}</dd><dt>Flow</dt><dd>${flowLink(key.flowId)}</dd><dt>Step</dt><dd>${esc(f.stepId)}</dd>
<dt>Browser</dt><dd>${esc(key.browser)} · ${esc(key.viewport)}</dd><dt>Similarity</dt><dd id="similarity">${similarity === undefined ? (comparedWith ? '—' : 'not compared (no diff recorded)') : `${esc(similarity)}%`}${comparedWith ? ` against the baseline of run ${runLink(comparedWith)}` : ''}</dd>
<dt>Baseline now</dt><dd id="baseline-run">${baseline ? `from run ${runLink(baseline.runId)}, set ${time(baseline.createdAt)}` : 'none'}</dd></dl>
${promote}
<div class="review">${figure('Baseline', baseline ? baselineSrc(key) : null, `Baseline ${t.name}`)}${figure('This run', file(`${t.name}.png`), `Screenshot ${t.name} of this run`)}${figure('Diff', f.diff ? file(`${t.name}.diff.png`) : null, `Differences of ${t.name} from the baseline`)}</div>`,
    { csrf },
  );
}

