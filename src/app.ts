/**
 * @module app
 * `createApp(deps)`: middleware and routes, no `listen()`, so tests can drive it in-process
 * with `app.request()` and the server can wrap it in any Node HTTP server.
 */

import type { Queue } from 'bullmq';
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { errorHandler, methodNotAllowed, problemResponse, unmatched } from './app-errors.js';
import type { ApiKeys } from './auth/api-keys.js';
import { authenticate } from './auth/middleware.js';
import type { StreamTokens } from './auth/stream-tokens.js';
import type { ClientAddresses } from './client-address.js';
import type { ConnectionSet } from './events/connection.js';
import type { FeedHub } from './events/feed-hub.js';
import type { EventHub } from './events/hub.js';
import type { FeedLog } from './jobs/feed.js';
import type { JobTypeRegistry } from './jobs/registry.js';
import type { JobService } from './jobs/service.js';
import type { JobStore } from './jobs/store.js';
import type { RateLimiter, StreamSlots } from './limits.js';
import type { Logger } from './log.js';
import type { StreamCounters } from './metrics.js';
import type { RedisFaultLog } from './redis-faults.js';
import { ADMIN_BASE_PATH, adminRoutes } from './routes/admin.js';
import { bodyLimit } from './routes/body.js';
import { docsRoutes } from './routes/docs.js';
import { docsUiRoutes } from './routes/docs-ui.js';
import { eventRoutes } from './routes/events.js';
import { healthRoutes } from './routes/health.js';
import { jobRoutes } from './routes/jobs.js';
import { hasAnswerHeaders } from './routes/json.js';
import { MatchCache } from './routes/match-cache.js';
import { RouteMethods } from './routes/methods.js';
import { problemPageRoutes } from './routes/problem-pages.js';
import { webRoutes } from './routes/web.js';
import { type DeliveryReader, webhookRoutes } from './routes/webhooks.js';
import { securityHeadersFor } from './security-headers.js';
import type { AppEnv } from './server-types.js';

export interface AppDeps {
  jobs: JobService;
  /** The job types `jobs` accepts, for the API description (default: the built-in ones). */
  jobTypes?: JobTypeRegistry;
  store: JobStore;
  hub: EventHub;
  /** The API keys' feeds (`GET /events/feed`): their live side, their log, and how much it keeps. */
  feedHub: FeedHub;
  feed: FeedLog;
  feedMaxEvents: number;
  connections: ConnectionSet;
  log: Logger;
  apiKeys: ApiKeys;
  streamTokens: StreamTokens;
  /** Jobs submitted per client per minute. */
  limiter: RateLimiter;
  /** Reads (a job, its log, a page of the list) per client per minute. */
  readLimiter: RateLimiter;
  slots: StreamSlots;
  /** Finds the client's address, through trusted proxies (TRUST_PROXY). */
  clientAddresses: ClientAddresses;
  /** Origins allowed to call the API from a browser; empty = same origin only. */
  corsOrigins: readonly string[];
  maxBodyBytes: number;
  /** Served over HTTPS: only then is Strict-Transport-Security meaningful. */
  tls?: boolean;
  /** Resolves when Redis answers; used by /readyz. */
  ping: () => Promise<unknown>;
  /** Where Redis faults are logged: one line of advice per outage, not one warning per request. */
  faults?: RedisFaultLog;
  /** Serves GET /metrics (Prometheus text). */
  metrics: () => Promise<{ contentType: string; text: string }>;
  counters?: StreamCounters;
  /** The operator view (bull-board); left out, e.g., where routes are only listed. */
  admin?: { queue: Queue; password: string | undefined };
  /** A job's webhook deliveries (#17); left out, none are listed. */
  webhookDeliveries?: DeliveryReader;
}

const JOB_EVENTS_PATH = /^\/jobs\/[^/]+\/events$/;

const noDeliveries: DeliveryReader = { list: async () => ({ items: [], truncated: false }) };

/** Request ids: a caller's own (if sane) or a fresh one; echoed back and logged. */
const REQUEST_ID = /^[\w.:-]{1,128}$/;

export function createApp(deps: AppDeps): Hono<AppEnv> {
  // Remembers the match of each literal path (`POST /jobs`): see routes/match-cache.
  const app = new Hono<AppEnv>({ router: new MatchCache() });

  // Every answer's; the HTML pages add their own (see security-headers).
  const securityHeaders = securityHeadersFor(deps);
  const jsonHeaders = Object.freeze({ 'content-type': 'application/json', ...Object.fromEntries(securityHeaders) });
  const foreignOrigin = deps.corsOrigins.length === 0 ? foreignOriginWarning(deps.log) : undefined;
  app.use(async (c, next) => {
    // A caller's own id is kept when it is safe to log and echo; otherwise a fresh one.
    const given = c.req.header('x-request-id');
    const requestId = given && REQUEST_ID.test(given) ? given : crypto.randomUUID();
    c.set('requestId', requestId);
    c.set('jsonHeaders', jsonHeaders);
    // Worked out when first asked for (a limit, an access log line that is written): reading
    // the socket's address is a getpeername system call, which most event streams never need.
    let client: string | undefined;
    const clientAddress = () => {
      if (client !== undefined) return client;
      const incoming = c.env?.incoming;
      const { header } = deps.clientAddresses;
      const forwarded = header === undefined ? undefined : incoming?.headers[header];
      client = deps.clientAddresses.resolve(
        incoming?.socket?.remoteAddress,
        Array.isArray(forwarded) ? forwarded.join(',') : forwarded,
      );
      return client;
    };
    c.set('clientAddress', clientAddress);
    if (foreignOrigin) {
      const origin = c.req.header('origin');
      if (origin !== undefined) foreignOrigin(origin, c.req.header('host'));
    }
    const started = performance.now();
    await next();
    // Added to the Node response just before @hono/node-server writes the route's answer, so
    // that answer keeps plain headers: adding headers to a finished Response made hono and
    // @hono/node-server build undici Headers for every request (docs/performance.md). A
    // route's own headers win. An event stream has written its own already (headersSent):
    // the request id and nosniff, not headers meant for documents, which every open stream
    // would keep in memory.
    const outgoing = c.env?.outgoing;
    if (outgoing) {
      // A JSON answer of routes/json.ts carries them already, in its own header object.
      if (!outgoing.headersSent && !hasAnswerHeaders(c)) {
        outgoing.setHeader('x-request-id', requestId);
        for (const [name, value] of securityHeaders) outgoing.setHeader(name, value);
      }
    } else {
      // In-process (app.request): no Node response; the headers go on the route's Response.
      const headers = c.res.headers;
      for (const [name, value] of [['x-request-id', requestId], ...securityHeaders] as const) {
        if (!headers.has(name)) headers.set(name, value);
      }
    }
    // Access log: successes at debug (streams are many), client errors at info. The path has
    // no query string, so stream tokens never reach the log.
    const status = c.res.status;
    const level = status >= 400 ? 'info' : 'debug';
    // Built only when written. (Not an object literal with a getter for the address: that made
    // V8 keep every request's objects past young-generation collections — on /healthz,
    // scavenges of 14 ms instead of 0.6 and ~40% fewer requests per second.)
    if (!deps.log.enabled(level)) return;
    deps.log[level]('request', {
      requestId,
      client: clientAddress(),
      method: c.req.method,
      path: c.req.path,
      status,
      ms: Math.round((performance.now() - started) * 10) / 10,
    });
  });
  if (deps.corsOrigins.length > 0) {
    const allowed = new Set(deps.corsOrigins);
    app.use(
      cors({
        origin: (origin) => (allowed.has('*') || allowed.has(origin) ? origin : null),
        allowMethods: ['GET', 'POST', 'OPTIONS'],
        allowHeaders: ['authorization', 'content-type', 'idempotency-key', 'last-event-id', 'x-request-id'],
        exposeHeaders: ['location', 'retry-after', 'idempotent-replayed', 'x-request-id'],
        // Credentials only make sense for listed origins; '*' never gets them.
        credentials: !allowed.has('*'),
        maxAge: 600,
      }),
    );
  }
  // A body announced as too large is refused from its headers, on any route, before anything
  // (authentication included) would read it.
  app.use(bodyLimit(deps.maxBodyBytes));
  const restAuth = authenticate(deps.apiKeys, deps.streamTokens, { allowToken: false });
  const streamAuth = authenticate(deps.apiKeys, deps.streamTokens, { allowToken: true });
  app.use('/events', streamAuth);
  app.use('/events/tokens', restAuth);
  // The feed lists a key's jobs: a key, never a job's stream token.
  app.use('/events/feed', restAuth);
  // `/jobs/*` matches `/jobs` itself too: every path under /jobs but a job's events is REST,
  // and a stream token is no key there. (A second `app.use('/jobs', …)` checked `POST /jobs`
  // twice.) A job's events (`/jobs/:id/events`, the paths JOB_EVENTS_PATH matches) are
  // authenticated here too rather than by a middleware of their own: one layer less for every
  // stream opened.
  app.use('/jobs/*', (c, next) => (JOB_EVENTS_PATH.test(c.req.path) ? streamAuth(c, next) : restAuth(c, next)));
  // A literal path under a parameter route (`/jobs/batch` under `GET /jobs/:id`) answers only
  // its own methods: one Map lookup per request. Built on first use, once every route exists;
  // bull-board's routes under /admin are its own business.
  let methods: RouteMethods | undefined;
  const routeMethods = () => {
    methods ??= new RouteMethods(app.routes, { shadowChecked: (path) => !path.startsWith(ADMIN_BASE_PATH) });
    return methods;
  };
  // (Pass-through middlewares are not async: see routes/body.)
  app.use((c, next) => {
    const allowed = routeMethods().shadowed.get(c.req.path);
    if (allowed && !allowed.includes(c.req.method)) throw methodNotAllowed(c.req.method, allowed);
    return next();
  });

  // Metrics describe every owner's load: with keys, a key is needed to read them (README, Security).
  app.use('/metrics', restAuth);

  app.route(
    '/',
    jobRoutes(deps.jobs, { submissions: deps.limiter, reads: deps.readLimiter, maxBodyBytes: deps.maxBodyBytes }),
  );
  app.route('/', webhookRoutes(deps.jobs, deps.webhookDeliveries ?? noDeliveries, deps.readLimiter));
  app.route('/', eventRoutes(deps));
  app.route('/', docsRoutes(deps.jobTypes));
  app.route('/', docsUiRoutes());
  app.route('/', problemPageRoutes());
  app.route('/', healthRoutes(deps.ping, deps.faults));
  if (deps.admin) {
    app.route('/', adminRoutes(deps.admin.queue, { password: deps.admin.password }));
  }
  app.get('/metrics', async (c) => {
    const { contentType, text } = await deps.metrics();
    return c.body(text, 200, { 'content-type': contentType });
  });
  app.route('/', webRoutes({ apiKeys: deps.apiKeys?.enabled ?? false }));

  app.notFound((c) => problemResponse(c, unmatched(routeMethods(), c.req.method, c.req.path)));

  app.onError(errorHandler(deps));

  return app;
}

/**
 * Without CORS_ORIGINS a browser refuses every answer to a page of another origin, and that page
 * only sees a stream that keeps reconnecting: the log says why, once per origin (at most 100).
 */
function foreignOriginWarning(log: Logger): (origin: string, host: string | undefined) => void {
  const told = new Set<string>();
  return (origin, host) => {
    if (told.has(origin) || told.size >= 100 || sameOrigin(origin, host)) return;
    told.add(origin);
    log.warn('a page of another origin called the API; browsers refuse the answers unless CORS_ORIGINS names it', {
      origin,
    });
  };
}

/** Whether `origin` (a browser's `Origin` header) is the host the request was sent to. */
function sameOrigin(origin: string, host: string | undefined): boolean {
  if (origin === 'null') return false;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}
