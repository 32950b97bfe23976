/**
 * @module routes/docs-ui
 * `GET /docs`: an interactive API reference (Swagger UI) rendered from `/openapi.json`, with
 * every asset served by jobcast itself — no CDN, so it works offline and behind firewalls.
 * Also serves the stylesheet of the problem pages (`routes/problem-pages`).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Hono } from 'hono';
import { PROBLEM_PAGES_CSS } from './problem-pages.js';

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>jobcast API reference</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
`;

const INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true, tryItOutEnabled: true });\n`;

/** Swagger UI styles its widgets inline, so styles (only) may be inline on this page. */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

let assets: Map<string, { body: string; type: string }> | undefined;

function load(): Map<string, { body: string; type: string }> {
  if (assets) return assets;
  const dist = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  assets = new Map([
    ['swagger-ui.css', { body: readFileSync(join(dist, 'swagger-ui.css'), 'utf8'), type: 'text/css; charset=utf-8' }],
    [
      'swagger-ui-bundle.js',
      { body: readFileSync(join(dist, 'swagger-ui-bundle.js'), 'utf8'), type: 'text/javascript; charset=utf-8' },
    ],
    ['init.js', { body: INIT, type: 'text/javascript; charset=utf-8' }],
    ['problems.css', { body: PROBLEM_PAGES_CSS, type: 'text/css; charset=utf-8' }],
  ]);
  return assets;
}

export function docsUiRoutes(): Hono {
  const app = new Hono();
  app.get('/docs', (c) => c.html(PAGE, 200, { 'content-security-policy': CSP, 'cache-control': 'no-cache' }));
  app.get('/docs/:asset', (c) => {
    const asset = load().get(c.req.param('asset'));
    if (!asset) return c.notFound();
    return c.body(asset.body, 200, { 'content-type': asset.type, 'cache-control': 'public, max-age=3600' });
  });
  return app;
}
