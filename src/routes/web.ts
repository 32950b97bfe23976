/**
 * @module routes/web
 * The live page: `GET /` and the two files it loads, `/app.js` and `/styles.css`, served by
 * jobcast itself under a strict Content-Security-Policy (no inline script or style, nothing
 * from another origin).
 */
import { type Context, Hono } from 'hono';
import { DOCUMENT_HEADERS } from '../security-headers.js';
import { type Asset, type WebAssets, webAssets } from '../web/assets.js';
import { lazily } from './lazy.js';

/** Everything the page needs comes from this origin; it may not be framed. */
export const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

/** A year: the longest lifetime RFC 9111 suggests for content that never changes. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * The page's routes. `apiKeys`: whether this service requires API keys, which the page is told
 * (a `<meta>`), so it asks for a key at once when one is needed, and otherwise sends nothing.
 * `files` reads the page's files (tests give one that fails): when they cannot be read (a broken
 * install), each route answers a 503 problem naming the page (`routes/lazy`), not a 500.
 */
export function webRoutes(options: { apiKeys: boolean; files?: () => Promise<WebAssets> }): Hono {
  const app = new Hono();
  const files = lazily('the live page', options.files ?? webAssets);
  const pages = new WeakMap<Asset, Asset>();
  const page = (html: Asset): Asset => {
    let filled = pages.get(html);
    if (!filled) {
      const body = html.body.replace('{{apiKeys}}', options.apiKeys ? 'required' : 'off');
      // A page that says something else is another page: another ETag.
      filled = { ...html, body, hash: `${html.hash}${options.apiKeys ? 'k' : 'o'}` };
      pages.set(html, filled);
    }
    return filled;
  };
  app.get('/', async (c) =>
    send(c, page((await files()).html), 'no-cache', {
      ...DOCUMENT_HEADERS,
      'content-security-policy': PAGE_CSP,
      'referrer-policy': 'no-referrer',
    }),
  );
  app.get('/app.js', async (c) => sendVersioned(c, (await files()).script));
  app.get('/styles.css', async (c) => sendVersioned(c, (await files()).styles));
  return app;
}

/** Files linked as `?v=<hash>` are cached for good; any other URL revalidates every time. */
function sendVersioned(c: Context, asset: Asset): Response {
  return send(c, asset, c.req.query('v') === asset.hash ? IMMUTABLE : 'no-cache');
}

function send(c: Context, asset: Asset, cacheControl: string, extra: Record<string, string> = {}): Response {
  const etag = `"${asset.hash}"`;
  const headers = {
    'content-type': asset.contentType,
    'cache-control': cacheControl,
    etag,
    'x-content-type-options': 'nosniff',
    ...extra,
  };
  if (matches(c.req.header('if-none-match'), etag)) return c.body(null, 304, headers);
  return c.body(asset.body, 200, headers);
}

/** `If-None-Match` uses the weak comparison (RFC 9110 §13.1.2): `W/` is ignored. */
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === '*') return true;
  return ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}
