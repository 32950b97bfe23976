/**
 * CORS: by default the API is same-origin only (no Access-Control-Allow-Origin for anyone);
 * with `CORS_ORIGINS` the listed origins — and only they — get preflights answered,
 * credentials, and the headers a browser client must read (Location, Retry-After, …), on REST
 * responses and on event streams alike.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi } from '../src/server.js';
import type { Harness } from './support/harness/harness.js';
import { recordingLogger } from './support/harness/recording-logger.js';
import { bearer, KEY_A, send, startKeyedHarness, submitAs } from './support/http/security.js';
import { openStream } from './support/sse/raw-sse.js';

const APP = 'https://app.example';
const EVIL = 'https://evil.example';

let open: Harness;
let listed: Harness;
beforeAll(async () => {
  [open, listed] = await Promise.all([
    startKeyedHarness(),
    startKeyedHarness({ CORS_ORIGINS: APP }, { worker: false }),
  ]);
});
afterAll(async () => {
  await Promise.all([open?.close(), listed?.close()]);
});

const list = (value: string | null) => (value ?? '').split(',').map((v) => v.trim().toLowerCase());

/** The headers of an event stream's response (the stream itself is dropped at once). */
async function streamHeaders(url: string, headers: Record<string, string>) {
  const stream = openStream(url, { headers });
  try {
    const res = await stream.response;
    return { status: res.statusCode, headers: res.headers };
  } finally {
    stream.close();
  }
}

describe('without CORS_ORIGINS (same origin only)', () => {
  it('gives a cross-origin request no Access-Control-Allow-Origin, on REST, problems, preflights and streams', async () => {
    const job = await submitAs(open.url, KEY_A);
    const headers = { origin: APP, ...bearer(KEY_A) };
    for (const [method, path] of [
      ['GET', '/jobs'],
      ['GET', `/jobs/${job.id}`],
      ['GET', '/jobs/nope'],
      ['OPTIONS', '/jobs'],
    ] as const) {
      const res = await send(open.url, method, path, {
        headers: method === 'OPTIONS' ? { origin: APP, 'access-control-request-method': 'POST' } : headers,
      });
      expect(res.headers.get('access-control-allow-origin'), `${method} ${path}`).toBeNull();
      expect(res.headers.get('access-control-allow-credentials'), `${method} ${path}`).toBeNull();
    }
    const post = await send(open.url, 'POST', '/jobs', { headers, body: { type: 'simulate', data: { steps: 1 } } });
    expect(post.status).toBe(202);
    expect(post.headers.get('access-control-allow-origin')).toBeNull();
    const stream = await streamHeaders(`${open.url}${job.links.events}`, { origin: APP });
    expect(stream.status).toBe(200);
    expect(stream.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('without CORS_ORIGINS, a page of another origin', () => {
  it('is told of in the log, once per origin: the page itself only sees a stream that keeps reconnecting', async () => {
    const log = recordingLogger();
    const api = await startApi(open.config, open.redisUrl, log);
    try {
      const job = await submitAs(api.url, KEY_A);
      const own = `http://${new URL(api.url).host}`;
      for (const origin of [APP, APP, EVIL, own]) {
        await send(api.url, 'GET', `/jobs/${job.id}`, { headers: { origin, ...bearer(KEY_A) } });
      }
      await send(api.url, 'OPTIONS', '/jobs', { headers: { origin: APP, 'access-control-request-method': 'POST' } });
      const told = log.lines.filter((l) => l.level === 'warn' && /CORS_ORIGINS/.test(l.msg));
      expect(told.map((l) => l.fields.origin)).toEqual([APP, EVIL]);
    } finally {
      await api.close();
    }
  });
});

describe('with CORS_ORIGINS=https://app.example', () => {
  it('answers a preflight from the listed origin with 204, its origin, the headers asked for and credentials', async () => {
    const res = await send(listed.url, 'OPTIONS', '/jobs', {
      headers: {
        origin: APP,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type,idempotency-key',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(APP);
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
    expect(list(res.headers.get('access-control-allow-headers'))).toEqual(
      expect.arrayContaining(['authorization', 'content-type', 'idempotency-key']),
    );
    expect(list(res.headers.get('access-control-allow-methods'))).toEqual(expect.arrayContaining(['post', 'get']));
    expect(list(res.headers.get('vary'))).toContain('origin');
    // A preflight of an event stream (EventSource with a Last-Event-ID on reconnect).
    const sse = await send(listed.url, 'OPTIONS', '/jobs/x/events', {
      headers: {
        origin: APP,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'last-event-id',
      },
    });
    expect(sse.status).toBe(204);
    expect(list(sse.headers.get('access-control-allow-headers'))).toContain('last-event-id');
  });

  it("gives the listed origin's GET and POST its origin, credentials, and the headers it must read", async () => {
    const post = await send(listed.url, 'POST', '/jobs', {
      headers: { origin: APP, ...bearer(KEY_A) },
      body: { type: 'simulate', data: { steps: 1 } },
    });
    expect(post.status).toBe(202);
    expect(post.headers.get('access-control-allow-origin')).toBe(APP);
    expect(post.headers.get('access-control-allow-credentials')).toBe('true');
    expect(list(post.headers.get('access-control-expose-headers'))).toEqual(
      expect.arrayContaining(['location', 'retry-after', 'x-request-id']),
    );
    expect(list(post.headers.get('vary'))).toContain('origin');
    const id = post.json?.id as string;
    const get = await send(listed.url, 'GET', `/jobs/${id}`, { headers: { origin: APP, ...bearer(KEY_A) } });
    expect(get.status).toBe(200);
    expect(get.headers.get('access-control-allow-origin')).toBe(APP);
    // Errors too, so the page can read the problem.
    const unauthorized = await send(listed.url, 'GET', `/jobs/${id}`, { headers: { origin: APP } });
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.headers.get('access-control-allow-origin')).toBe(APP);
  });

  it('gives an unlisted origin no Access-Control-Allow-Origin, preflight or not', async () => {
    for (const origin of [EVIL, 'https://app.example.evil.example', 'http://app.example', `${APP}:8443`, 'null']) {
      const preflight = await send(listed.url, 'OPTIONS', '/jobs', {
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
      });
      expect(preflight.headers.get('access-control-allow-origin'), origin).toBeNull();
      const get = await send(listed.url, 'GET', '/jobs', { headers: { origin, ...bearer(KEY_A) } });
      expect(get.status).toBe(200);
      expect(get.headers.get('access-control-allow-origin'), origin).toBeNull();
    }
  });

  it("carries the listed origin's CORS headers on event streams (written outside the middleware chain)", async () => {
    const job = await submitAs(listed.url, KEY_A);
    const viaToken = await streamHeaders(`${listed.url}${job.links.events}`, { origin: APP });
    expect(viaToken.status).toBe(200);
    expect(viaToken.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(viaToken.headers['access-control-allow-origin']).toBe(APP);
    expect(viaToken.headers['access-control-allow-credentials']).toBe('true');
    const multi = await streamHeaders(`${listed.url}/events?jobs=${job.id}`, { origin: APP, ...bearer(KEY_A) });
    expect(multi.status).toBe(200);
    expect(multi.headers['access-control-allow-origin']).toBe(APP);
    const unlisted = await streamHeaders(`${listed.url}${job.links.events}`, { origin: EVIL });
    expect(unlisted.status).toBe(200);
    expect(unlisted.headers['access-control-allow-origin']).toBeUndefined();
  });
});
