/**
 * Parts loaded on their first request (routes/lazy: the API description, the operator view)
 * load once and then answer as if they had been there from the start; a part that cannot be
 * loaded answers a 503 problem naming it — its cause logged, never returned — and the next
 * request tries again. (That the real parts answer their first request: admin.test.ts,
 * openapi.test.ts, docs-ui.test.ts.)
 */
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { errorHandler } from '../src/app-errors.js';
import { lazily } from '../src/routes/lazy.js';
import type { AppEnv } from '../src/server-types.js';
import { recordingLogger } from './support/harness/recording-logger.js';

function appWith(load: () => Promise<{ answer: string }>) {
  const log = recordingLogger();
  const part = lazily('the answering part', load);
  const app = new Hono<AppEnv>();
  app.get('/part', async (c) => c.text((await part()).answer));
  app.onError(errorHandler({ log }));
  return { app, log };
}

describe('a part loaded on first use', () => {
  it('loads once, on the first request, and answers every request from then on', async () => {
    let loads = 0;
    const { app } = appWith(async () => {
      loads++;
      return { answer: 'loaded' };
    });
    expect(loads).toBe(0);
    const answers = await Promise.all([app.request('/part'), app.request('/part')]);
    answers.push(await app.request('/part'));
    for (const res of answers) {
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('loaded');
    }
    expect(loads).toBe(1);
  });

  it('that cannot load answers a 503 problem naming it, logs the cause, and is tried again next time', async () => {
    let broken = true;
    const { app, log } = appWith(async () => {
      if (broken) throw new Error("Cannot find module '/app/dist/openapi-X.js'");
      return { answer: 'loaded' };
    });
    const res = await app.request('/part');
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.headers.get('retry-after')).toBe('1');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ type: '/problems/unavailable', status: 503 });
    expect(body.detail).toBe('the answering part could not be loaded; retry shortly');
    expect(JSON.stringify(body), 'the cause stays in the log').not.toContain('Cannot find module');
    const warning = log.lines.find((l) => l.level === 'warn');
    expect(String((warning?.fields.cause as Error | undefined)?.message)).toContain('Cannot find module');

    broken = false;
    const again = await app.request('/part');
    expect(again.status).toBe(200);
    expect(await again.text()).toBe('loaded');
  });
});
