/**
 * @module routes/docs-ui
 * `GET /docs`: an interactive API reference (Swagger UI) rendered from `/openapi.json`, with
 * every asset served by jobcast itself — no CDN, so it works offline and behind firewalls.
 * Also serves the stylesheet of the problem pages (`routes/problem-pages`).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Hono } from 'hono';
import { DOCUMENT_HEADERS } from '../security-headers.js';
import { lazily } from './lazy.js';
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

/** The reference page's files, as `/docs/<name>` serves them (and the API description lists them). */
export const DOCS_FILES = ['swagger-ui.css', 'swagger-ui-bundle.js', 'init.js', 'problems.css'] as const;

export type DocsFiles = Map<string, { body: string; type: string }>;

/** The reference's files, read from swagger-ui-dist (and kept) on the first request for one. */
async function readDocsFiles(): Promise<DocsFiles> {
  const dist = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  const [css, bundle] = await Promise.all([
    readFile(join(dist, 'swagger-ui.css'), 'utf8'),
    readFile(join(dist, 'swagger-ui-bundle.js'), 'utf8'),
  ]);
  return new Map([
    ['swagger-ui.css', { body: css, type: 'text/css; charset=utf-8' }],
    ['swagger-ui-bundle.js', { body: bundle, type: 'text/javascript; charset=utf-8' }],
    ['init.js', { body: INIT, type: 'text/javascript; charset=utf-8' }],
    ['problems.css', { body: PROBLEM_PAGES_CSS, type: 'text/css; charset=utf-8' }],
  ]);
}

/**
 * `files` reads the reference's files (tests give one that fails): when they cannot be read (a
 * broken install), `/docs/<file>` answers a 503 problem naming the reference (`routes/lazy`).
 */
export function docsUiRoutes(files: () => Promise<DocsFiles> = readDocsFiles): Hono {
  const app = new Hono();
  const load = lazily('the API reference', files);
  app.get('/docs', (c) =>
    c.html(PAGE, 200, { ...DOCUMENT_HEADERS, 'content-security-policy': CSP, 'cache-control': 'no-cache' }),
  );
  // A trailing slash is a common typing of the same page (the page's links are absolute). A
  // middleware, not a route: a convenience, not an operation of the API description.
  app.use('/docs/', (c, next) =>
    c.req.method === 'GET' || c.req.method === 'HEAD' ? Promise.resolve(c.redirect('/docs', 301)) : next(),
  );
  app.get('/docs/:asset', async (c) => {
    const name = c.req.param('asset');
    if (!(DOCS_FILES as readonly string[]).includes(name)) return c.notFound();
    const asset = (await load()).get(name);
    if (!asset) return c.notFound();
    return c.body(asset.body, 200, { 'content-type': asset.type, 'cache-control': 'public, max-age=3600' });
  });
  return app;
}
