/**
 * The security headers of every response, from helmet: `nosniff`, no framing, no referrer, HSTS,
 * cross-origin isolation of the gateway's resources, and a Content-Security-Policy by area. The
 * JSON API may load nothing; the dashboard (server-rendered) its own images, inline styles, forms
 * and its one script file; Swagger UI its own files and its one inline script (definitions/docs/routes.ts).
 * A run's files replace the policy with `sandbox` (http/files.ts).
 */
import type { RequestHandler } from 'express';
import helmet from 'helmet';

type Directives = Record<string, string[]>;

const NOTHING: Directives = { defaultSrc: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"], frameAncestors: ["'none'"] };

/**
 * The dashboard: `style="…"` attributes and one `<style>` block, `<img>` of screenshots, forms posting
 * to itself, and one same-origin script file (`/ui/live.js`, no inline script) that reads its event
 * streams and pages (`connect-src 'self'`).
 */
export const DASHBOARD_CSP: Directives = {
  ...NOTHING,
  styleSrc: ["'unsafe-inline'"],
  imgSrc: ["'self'"],
  formAction: ["'self'"],
  scriptSrc: ["'self'"],
  connectSrc: ["'self'"],
};

const DASHBOARD = /^\/ui(\/|$)/i;
const DOCS = /^\/docs(\/|$)/i;

export function securityHeaders(docsCsp: Directives): RequestHandler {
  const common = helmet({ contentSecurityPolicy: false, xFrameOptions: { action: 'deny' } });
  const csp = (directives: Directives) => helmet.contentSecurityPolicy({ useDefaults: false, directives });
  const api = csp(NOTHING);
  const ui = csp(DASHBOARD_CSP);
  const docs = csp({ ...docsCsp, baseUri: ["'none'"], frameAncestors: ["'none'"] });
  return (req, res, next) =>
    common(req, res, (err?: unknown) => {
      if (err) return next(err);
      (DASHBOARD.test(req.path) ? ui : DOCS.test(req.path) ? docs : api)(req, res, next);
    });
}
