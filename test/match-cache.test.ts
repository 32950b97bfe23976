/**
 * The router that remembers the match of each literal path (routes/match-cache) answers every
 * request exactly as hono's own router does, parameters and middleware included, and hands out
 * one remembered match per literal path and method, never for a path with parameters.
 */
import { Hono } from 'hono';
import { TrieRouter } from 'hono/router/trie-router';
import { describe, expect, it } from 'vitest';
import { MatchCache } from '../src/routes/match-cache.js';

/** Routes shaped like the API's: a literal path beside a parameter route, and middleware on both. */
function build(app: Hono): Hono {
  app.use(async (c, next) => {
    await next();
    c.header('x-seen', 'all');
  });
  app.use('/jobs/*', async (c, next) => {
    await next();
    c.header('x-jobs', c.req.path);
  });
  app.get('/jobs', (c) => c.text('list'));
  app.post('/jobs', (c) => c.text('submit'));
  app.post('/jobs/batch', (c) => c.text('batch'));
  app.get('/jobs/:id', (c) => c.text(`job ${c.req.param('id')}`));
  app.get('/jobs/:id/events', (c) => c.json(c.req.param()));
  app.notFound((c) => c.text('none', 404));
  return app;
}

const requests: [string, string][] = [
  ['GET', '/jobs'],
  ['POST', '/jobs'],
  ['POST', '/jobs/batch'],
  ['GET', '/jobs/batch'],
  ['GET', '/jobs/abc'],
  ['GET', '/jobs/def'],
  ['GET', '/jobs/abc/events'],
  ['DELETE', '/jobs'],
  ['PROPFIND', '/jobs'],
  ['GET', '/nowhere'],
  ['HEAD', '/jobs'],
];

describe('remembering the matches of literal paths', () => {
  it('answers every request as hono’s default router does, twice over', async () => {
    const ours = build(new Hono({ router: new MatchCache() }));
    const theirs = build(new Hono());
    for (let round = 0; round < 2; round++) {
      for (const [method, path] of requests) {
        const [a, b] = await Promise.all([ours, theirs].map((app) => app.request(path, { method })));
        const seen = { status: a?.status, headers: [...(a?.headers ?? [])], body: await a?.text() };
        expect(seen, `${method} ${path}`).toEqual({
          status: b?.status,
          headers: [...(b?.headers ?? [])],
          body: await b?.text(),
        });
      }
    }
  });

  it('remembers one match per literal path and method, none for paths with parameters or odd methods', () => {
    const router = new MatchCache<string>(new TrieRouter());
    router.add('ALL', '*', 'everywhere');
    router.add('POST', '/jobs', 'submit');
    router.add('GET', '/jobs/:id', 'job');
    const first = router.match('POST', '/jobs');
    expect(first[0].map(([handler]) => handler)).toEqual(['everywhere', 'submit']);
    expect(router.match('POST', '/jobs')).toBe(first);
    expect(router.match('GET', '/jobs')).not.toBe(first);
    expect(router.match('GET', '/jobs/a')).not.toBe(router.match('GET', '/jobs/a'));
    expect(router.match('PROPFIND', '/jobs')).not.toBe(router.match('PROPFIND', '/jobs'));
    // A route added later is part of the next match.
    router.add('POST', '/jobs', 'again');
    expect(router.match('POST', '/jobs')[0].map(([handler]) => handler)).toEqual(['everywhere', 'submit', 'again']);
  });
});
