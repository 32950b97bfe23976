/**
 * Parts loaded on their first request (routes/lazy: the API description, the operator view, and
 * the files of the live page and of the API reference) load once and then answer as if they had
 * been there from the start; a part that cannot be loaded answers a 503 problem naming it — its
 * cause logged, never returned — and the next request tries again. (That the real parts answer
 * their first request: admin.test.ts, openapi.test.ts, docs-ui.test.ts, web.test.ts.)
 */
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { errorHandler } from '../src/app-errors.js';
import { type DocsFiles, docsUiRoutes } from '../src/routes/docs-ui.js';
import { lazily } from '../src/routes/lazy.js';
import { webRoutes } from '../src/routes/web.js';
import type { AppEnv } from '../src/server-types.js';
import type { WebAssets } from '../src/web/assets.js';
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

/** Files that cannot be read until `fixed` is called, as in an install with files missing. */
function missingFiles<T>(files: T) {
  let missing = true;
  return {
    read: async (): Promise<T> => {
      if (missing) throw new Error("ENOENT: no such file or directory, open '/app/dist/web/app.js'");
      return files;
    },
    fixed: () => {
      missing = false;
    },
  };
}

function appOf(routes: Hono) {
  const log = recordingLogger();
  const app = new Hono<AppEnv>();
  app.route('/', routes);
  app.onError(errorHandler({ log }));
  return { app, log };
}

async function expectUnavailable(res: Response, part: string) {
  expect(res.status).toBe(503);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  expect(res.headers.get('retry-after')).toBe('1');
  const body = (await res.json()) as Record<string, unknown>;
  expect(body).toMatchObject({ type: '/problems/unavailable', status: 503 });
  expect(body.detail).toBe(`${part} could not be loaded; retry shortly`);
  expect(JSON.stringify(body)).not.toContain('ENOENT');
}

describe('file-backed parts whose files are missing (a broken install)', () => {
  it('the live page and its files answer a 503 naming the page, then serve once the files are back', async () => {
    const asset = (body: string, contentType: string) => ({ body, contentType, hash: 'h' });
    const files = missingFiles<WebAssets>({
      html: asset('<p>{{apiKeys}}</p>', 'text/html; charset=utf-8'),
      script: asset('1', 'text/javascript; charset=utf-8'),
      styles: asset('p{}', 'text/css; charset=utf-8'),
    });
    const { app, log } = appOf(webRoutes({ apiKeys: false, files: files.read }));
    for (const path of ['/', '/app.js', '/styles.css'])
      await expectUnavailable(await app.request(path), 'the live page');
    expect(log.lines.some((l) => l.level === 'warn' && String(l.fields.cause).includes('ENOENT'))).toBe(true);

    files.fixed();
    const page = await app.request('/');
    expect(page.status).toBe(200);
    expect(await page.text()).toBe('<p>off</p>');
    expect((await app.request('/app.js')).status).toBe(200);
  });

  it("the API reference's files answer a 503 naming the reference; an unknown file stays a 404; the page itself is served", async () => {
    const files = missingFiles<DocsFiles>(new Map([['swagger-ui.css', { body: 'x{}', type: 'text/css' }]]));
    const { app } = appOf(docsUiRoutes(files.read));
    expect((await app.request('/docs')).status).toBe(200);
    const slash = await app.request('/docs/');
    expect([slash.status, slash.headers.get('location')], '/docs/ leads to /docs').toEqual([301, '/docs']);
    await expectUnavailable(await app.request('/docs/swagger-ui.css'), 'the API reference');
    expect((await app.request('/docs/no-such-file.js')).status).toBe(404);

    files.fixed();
    const css = await app.request('/docs/swagger-ui.css');
    expect(css.status).toBe(200);
    expect(await css.text()).toBe('x{}');
  });
});
