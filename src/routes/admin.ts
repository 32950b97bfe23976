/**
 * @module routes/admin
 * The operator view: bull-board at `/admin/queues`, over jobcast's BullMQ queue.
 *
 * It lists every job of every owner and can retry or remove them, so it is guarded separately
 * from the API, and only by `ADMIN_PASSWORD` (HTTP Basic auth, any user name): without one it
 * is off (404), even while the service runs open — there a job id is a capability, and a page
 * that lists them all would hand every job to anyone who can reach the port.
 */
import { timingSafeEqual } from 'node:crypto';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Queue } from 'bullmq';
import { Hono, type MiddlewareHandler } from 'hono';
import { ProblemError } from '../problems.js';

export const ADMIN_BASE_PATH = '/admin/queues';

export function adminRoutes(queue: Queue, access: { password: string | undefined }): Hono {
  const app = new Hono();
  const guard: MiddlewareHandler = async (c, next) => {
    if (access.password === undefined) {
      throw new ProblemError('not-found', 'the operator view is off: set ADMIN_PASSWORD to use it');
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
  app.get(`${ADMIN_BASE_PATH}/`, (c) => c.redirect(ADMIN_BASE_PATH));

  const adapter = new HonoAdapter(serveStatic);
  createBullBoard({
    queues: [new BullMQAdapter(queue, { readOnlyMode: false })],
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: 'jobcast' } },
  });
  adapter.setBasePath(ADMIN_BASE_PATH);
  app.route(ADMIN_BASE_PATH, adapter.registerPlugin());
  return app;
}

function basicPasswordMatches(header: string | undefined, password: string): boolean {
  const encoded = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '')?.[1];
  if (!encoded) return false;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const given = Buffer.from(decoded.slice(decoded.indexOf(':') + 1));
  const expected = Buffer.from(password);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
