/**
 * @module routes/problem-pages
 * The problem `type` URIs answer: `GET /problems/<type>` is a short page on that type (its
 * title, status, when it happens, what to do, and an example), and `GET /problems` lists
 * them all — RFC 9457 §3.1.1 recommends a type URI that leads to human-readable
 * documentation. Everything comes from the catalogue in `problems`; the pages run under the
 * live page's strict Content-Security-Policy (no inline script or style: their stylesheet is
 * `/docs/problems.css`).
 *
 * @example
 * await app.request('/problems/job-not-found') // 200 text/html: "Job not found", 404, …
 */
import { Hono } from 'hono';
import { PROBLEM_CONTENT_TYPE, type ProblemType, problemTypes, problemTypeUri } from '../problems.js';
import { DOCUMENT_HEADERS } from '../security-headers.js';
import { PAGE_CSP } from './web.js';

/** The pages' stylesheet, served as `/docs/problems.css` (see `routes/docs-ui`). */
export const PROBLEM_PAGES_CSS = `body { margin: 0; font: 16px/1.5 system-ui, sans-serif; color: #1f2328; background: #fff; }
main { max-width: 44rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
nav { font-size: 0.9rem; }
a { color: #0b5cad; }
h1 { margin: 0.5rem 0 0.25rem; font-size: 1.75rem; }
h2 { margin-top: 1.5rem; font-size: 1.1rem; }
.status { margin: 0; color: #57606a; }
code, pre { font: 0.9rem/1.45 ui-monospace, monospace; }
code { background: #f3f4f6; padding: 0 0.2rem; border-radius: 3px; }
pre { background: #f6f8fa; padding: 0.75rem 1rem; white-space: pre-wrap; overflow-wrap: anywhere; border-radius: 6px; }
pre code { background: none; padding: 0; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 0.3rem 0.5rem; border-bottom: 1px solid #d0d7de; vertical-align: top; }
@media (prefers-color-scheme: dark) {
  body { color: #e6edf3; background: #0d1117; }
  a { color: #58a6ff; }
  .status { color: #8b949e; }
  code { background: #262c36; }
  pre { background: #161b22; }
  th, td { border-color: #30363d; }
}
`;

const escapeHtml = (text: string) =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

/** The catalogue's prose: HTML-escaped, with its Markdown code spans as `<code>`. */
const prose = (text: string) => escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>');

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${escapeHtml(title)} · jobcast</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/docs/problems.css">
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

/** The page of one problem type. */
export function problemPage(key: ProblemType): string {
  const { status, title, when, todo, example } = problemTypes[key];
  const body = { type: problemTypeUri(key), title, status, ...example };
  return page(
    `${title} (${status})`,
    `<nav><a href="/docs">API reference</a> › <a href="/problems">Problem types</a></nav>
<h1>${escapeHtml(title)}</h1>
<p class="status">HTTP ${status} · <code>type: ${escapeHtml(problemTypeUri(key))}</code></p>
<h2>When it happens</h2>
<p>${prose(when)}</p>
<h2>What to do</h2>
<p>${prose(todo)}</p>
<h2>Example</h2>
<pre><code>HTTP/1.1 ${status}
Content-Type: ${PROBLEM_CONTENT_TYPE}

${escapeHtml(JSON.stringify(body, null, 2))}</code></pre>`,
  );
}

/** The list of every problem type. */
export function problemIndexPage(): string {
  const rows = Object.entries(problemTypes)
    .map(
      ([key, { status, title }]) =>
        `<tr><td>${status}</td><td><a href="${escapeHtml(problemTypeUri(key as ProblemType))}">${escapeHtml(title)}</a></td><td><code>${escapeHtml(key)}</code></td></tr>`,
    )
    .join('\n');
  return page(
    'Problem types',
    `<nav><a href="/docs">API reference</a></nav>
<h1>Problem types</h1>
<p>Every error jobcast answers is an RFC 9457 problem (<code>${PROBLEM_CONTENT_TYPE}</code>) whose <code>type</code> is one of these.</p>
<table>
<thead><tr><th>Status</th><th>Title</th><th>Type</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`,
  );
}

const HEADERS = { ...DOCUMENT_HEADERS, 'content-security-policy': PAGE_CSP, 'cache-control': 'no-cache' };

export function problemPageRoutes(): Hono {
  const app = new Hono();
  app.get('/problems', (c) => c.html(problemIndexPage(), 200, HEADERS));
  app.get('/problems/:type', (c) => {
    const type = c.req.param('type');
    // Not `type in problemTypes`: that would answer for `toString` and friends.
    if (!Object.hasOwn(problemTypes, type)) return c.notFound();
    return c.html(problemPage(type as ProblemType), 200, HEADERS);
  });
  return app;
}
