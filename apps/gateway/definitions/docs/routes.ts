/** `/openapi.json` and `/docs`: the document is built from the mounted route list, the UI is served offline. */
import { createHash } from 'node:crypto';
import express, { type RequestHandler } from 'express';
import getAbsoluteFSPath from 'swagger-ui-dist/absolute-path';
import { buildOpenApi } from '../../http/openapi';
import { defineRoute, type AnyRoute } from '../../http/route';

/** Swagger UI's start; `validatorUrl: null` keeps it from loading a badge from swagger.io. */
const DOCS_INIT = `
      window.onload = function () {
        window.ui = SwaggerUIBundle({
          url: '/openapi.json',
          dom_id: '#swagger-ui',
          deepLinking: true,
          validatorUrl: null,
          presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
          layout: 'StandaloneLayout',
        });
      };
    `;

const DOCS_HTML = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>Flow Runs API</title>
    <link rel="stylesheet" type="text/css" href="/docs/swagger-ui.css" />
    <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/swagger-ui-bundle.js" charset="UTF-8"></script>
    <script src="/docs/swagger-ui-standalone-preset.js" charset="UTF-8"></script>
    <script>${DOCS_INIT}</script>
  </body>
</html>
`;

/**
 * The Content-Security-Policy of /docs: Swagger UI's files, its start script by hash, the inline
 * styles and data: images it renders, and requests ("Try it out") to this gateway and PUBLIC_URL.
 */
export const docsCsp = (publicUrl?: string): Record<string, string[]> => ({
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'", `'sha256-${createHash('sha256').update(DOCS_INIT).digest('base64')}'`],
  styleSrc: ["'self'", "'unsafe-inline'"],
  imgSrc: ["'self'", 'data:'],
  fontSrc: ["'self'", 'data:'],
  connectSrc: ["'self'", ...(publicUrl ? [new URL(publicUrl).origin] : [])],
  objectSrc: ["'none'"],
  formAction: ["'self'"],
});

/** Swagger UI's own files under /docs; mounted after the routes so /docs itself is our page. */
export const docsAssets = (): RequestHandler => express.static(getAbsoluteFSPath(), { index: false, fallthrough: true });

/** `allRoutes` is called once, on the first request, so the document includes these routes too. */
export const docsRoutes = (allRoutes: () => readonly AnyRoute[]): AnyRoute[] => {
  let doc: Record<string, unknown> | undefined;
  return [
    defineRoute({
      method: 'get',
      path: '/openapi.json',
      summary: 'This OpenAPI 3.1 document',
      tag: 'Docs',
      auth: 'none',
      handler: ({ baseUrl }) => {
        doc ??= buildOpenApi(allRoutes(), {
          title: 'Flow Runs API',
          version: '0.1.0',
          description: 'Durable flow runs on Temporal: define flows, trigger runs, read their results.',
        });
        return { ...doc, servers: [{ url: baseUrl }] };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/docs',
      summary: 'API docs (Swagger UI)',
      tag: 'Docs',
      auth: 'none',
      handler: ({ res }) => {
        res.type('html').send(DOCS_HTML);
      },
    }),
  ];
};
