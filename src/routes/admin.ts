/**
 * @module routes/admin
 * The operator view: bull-board at `/admin/queues`, over jobcast's BullMQ queue.
 *
 * It lists every job of every owner and can remove them, so it is guarded separately
 * from the API, and only by `ADMIN_PASSWORD` (HTTP Basic auth, any user name): without one it
 * is off (404), even while the service runs open — there a job id is a capability, and a page
 * that lists them all would hand every job to anyone who can reach the port. Its actions are
 * refused when a browser says another site made the request (cross-site request forgery), and
 * those that would run a job behind jobcast's record always.
 *
 * bull-board (with its own copy of bullmq, lodash…) is loaded on the first request that passes
 * the guard: most processes never serve one, and loading it was a fifth of an API's start.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Queue } from 'bullmq';
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { unmatched } from '../app-errors.js';
import { ProblemError } from '../problems.js';
import { DOCUMENT_HEADERS } from '../security-headers.js';
import { lazily } from './lazy.js';
import { RouteMethods } from './methods.js';

export const ADMIN_BASE_PATH = '/admin/queues';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * bull-board's actions that make BullMQ run a job jobcast's record does not know of, or not as
 * it knows it (add, retry one or all, edit the data): the worker would run it while the API, its
 * streams and its webhooks still tell the earlier outcome. Jobs enter through the API.
 */
const BEHIND_THE_RECORD = /^\/api\/queues\/[^/]+\/(add|retry\/[^/]+|[^/]+\/retry|[^/]+\/update-data)$/;

/**
 * Whether a browser says the request was made by another site: `Sec-Fetch-Site` where it is
 * sent, else an `Origin` whose host is not the one asked. Requests without either (curl,
 * scripts) are not a browser acting for another site.
 */
function crossSite(c: Context): boolean {
  const site = c.req.header('sec-fetch-site');
  if (site !== undefined) return site !== 'same-origin' && site !== 'none';
  const origin = c.req.header('origin');
  if (origin === undefined) return false;
  try {
    return new URL(origin).host !== c.req.header('host');
  } catch {
    // `Origin: null` (a sandboxed frame, a redirect across sites) and anything unreadable.
    return true;
  }
}

export function adminRoutes(queue: Queue, access: { password: string | undefined }): Hono {
  const app = new Hono();
  const guard: MiddlewareHandler = async (c, next) => {
    if (access.password === undefined) {
      throw new ProblemError('not-found', 'the operator view is off: set ADMIN_PASSWORD to use it');
    }
    // A browser sends remembered Basic credentials with a request any other site makes it send
    // (a form, a fetch): the view's actions (retry, remove, add, clean) take only its own pages'.
    if (!SAFE_METHODS.has(c.req.method) && crossSite(c)) {
      throw new ProblemError(
        'bad-request',
        "the operator view's actions are taken from its own pages only: this request came from another site",
      );
    }
    if (!basicPasswordMatches(c.req.header('authorization'), access.password)) {
      throw new ProblemError('unauthorized', 'the operator view needs the admin password (HTTP Basic auth)', {
        headers: { 'www-authenticate': 'Basic realm="jobcast admin", charset="UTF-8"' },
      });
    }
    return next();
  };
  app.use(ADMIN_BASE_PATH, guard);
  app.use(`${ADMIN_BASE_PATH}/*`, guard);
  app.use(`${ADMIN_BASE_PATH}/api/queues/*`, (c, next) => {
    if (!SAFE_METHODS.has(c.req.method) && BEHIND_THE_RECORD.test(c.req.path.slice(ADMIN_BASE_PATH.length))) {
      throw new ProblemError(
        'bad-request',
        "this action of the operator view is off: it would run a job behind jobcast's record, its event streams and its webhooks; submit the job again through the API (POST /jobs)",
      );
    }
    return next();
  });
  app.get(`${ADMIN_BASE_PATH}/`, (c) => c.redirect(ADMIN_BASE_PATH));

  const board = lazily('the operator view', () => loadBoard(queue));
  app.all(`${ADMIN_BASE_PATH}/*`, async (c) => (await board())(c));
  return app;
}

/** Marks hono's answer where no bull-board route (or file) matched; never sent. */
const UNMATCHED = 'x-jobcast-unmatched';

/** bull-board's routes over `queue`, as an app of their own, and how to answer from them. */
async function loadBoard(queue: Queue): Promise<(c: Context) => Promise<Response>> {
  const [{ createBullBoard }, { BullMQAdapter }, { HonoAdapter }, { serveStatic }] = await Promise.all([
    import('@bull-board/api'),
    import('@bull-board/api/bullMQAdapter'),
    import('@bull-board/hono'),
    import('@hono/node-server/serve-static'),
  ]);
  const adapter = new HonoAdapter(serveStatic);
  createBullBoard({
    queues: [new BullMQAdapter(queue, { readOnlyMode: false, allowRetries: false })],
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: 'jobcast' } },
  });
  adapter.setBasePath(ADMIN_BASE_PATH);
  const board = new Hono();
  board.route(ADMIN_BASE_PATH, adapter.registerPlugin());
  // As when these routes were part of the app: a path none answers (a missing static file too)
  // is our 404 or 405 problem. Marked, not thrown: a throw from there would meet bull-board's
  // error handler on its way out of serveStatic.
  const methods = new RouteMethods(board.routes);
  board.notFound((c) => c.body(null, 404, { [UNMATCHED]: '1' }));
  // Anything else that reaches this app is answered by the caller's error handler.
  board.onError((error) => {
    throw error;
  });
  return async (c) => {
    const res = await board.fetch(c.req.raw, c.env);
    if (res.headers.has(UNMATCHED)) throw unmatched(methods, c.req.method, c.req.path);
    // bull-board's pages are HTML documents, which the app's own headers are not meant for.
    if (res.headers.get('content-type')?.startsWith('text/html')) {
      for (const [name, value] of Object.entries(DOCUMENT_HEADERS)) res.headers.set(name, value);
    }
    return res;
  };
}

function basicPasswordMatches(header: string | undefined, password: string): boolean {
  const encoded = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '')?.[1];
  if (!encoded) return false;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const given = Buffer.from(decoded.slice(decoded.indexOf(':') + 1));
  const expected = Buffer.from(password);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
