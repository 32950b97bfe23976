/**
 * @module routes/match-cache
 * hono's router, with the match of each registered path that has no parameter remembered per
 * method. Our routes cannot use hono's RegExpRouter (a literal path under a parameter route,
 * `/jobs/batch` beside `/jobs/:id`, is one it refuses), so hono falls back to its TrieRouter,
 * which walks its tree and builds the list of matching middleware and handlers anew for every
 * request: ~1.5 KB of garbage and a few microseconds per `POST /jobs` (docs/performance.md).
 * A match depends only on the method and the path, so for a fixed path it is the same list
 * each time; RegExpRouter itself hands out one shared result per static route the same way.
 *
 * Bounded: only paths registered without a parameter or wildcard, and only the usual methods,
 * are remembered (any other path or method is matched as before), and a route added later
 * clears what was remembered.
 */
import type { Result, Router } from 'hono/router';
import { RegExpRouter } from 'hono/router/reg-exp-router';
import { SmartRouter } from 'hono/router/smart-router';
import { TrieRouter } from 'hono/router/trie-router';

const REMEMBERED_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

export class MatchCache<T> implements Router<T> {
  readonly name: string;
  readonly #router: Router<T>;
  /** Paths registered without a parameter or wildcard. */
  readonly #literal = new Set<string>();
  readonly #matches = new Map<string, Map<string, Result<T>>>();

  /** Default: the router hono would use (RegExpRouter where it can, else TrieRouter). */
  constructor(router: Router<T> = new SmartRouter({ routers: [new RegExpRouter(), new TrieRouter()] })) {
    this.#router = router;
    this.name = `MatchCache + ${router.name}`;
  }

  add(method: string, path: string, handler: T): void {
    this.#router.add(method, path, handler);
    if (!/[:*]/.test(path)) this.#literal.add(path);
    for (const matches of this.#matches.values()) matches.clear();
  }

  match(method: string, path: string): Result<T> {
    if (!this.#literal.has(path)) return this.#router.match(method, path);
    let matches = this.#matches.get(method);
    if (!matches) {
      if (!REMEMBERED_METHODS.includes(method)) return this.#router.match(method, path);
      matches = new Map();
      this.#matches.set(method, matches);
    }
    let found = matches.get(path);
    if (!found) {
      found = this.#router.match(method, path);
      matches.set(path, found);
    }
    return found;
  }
}
