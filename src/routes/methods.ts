/**
 * @module routes/methods
 * Which methods a path answers, for `405 Method Not Allowed` and its `Allow` header. A path is
 * the resource of the most specific route pattern that matches it: `/jobs/batch` is the
 * batch resource (POST), not a job id for `GET /jobs/:id` — so `GET /jobs/batch` is a 405
 * with `Allow: POST`, not a "no job with id batch".
 *
 * @example
 * const methods = new RouteMethods([{ method: 'POST', path: '/jobs/batch' }, { method: 'GET', path: '/jobs/:id' }]);
 * methods.allowed('/jobs/batch') // ['POST']
 * methods.allowed('/jobs/42')    // ['GET', 'HEAD']
 * methods.shadowed               // Map { '/jobs/batch' => ['POST'] }
 */

export interface RouteLike {
  method: string;
  path: string;
}

/** A segment's rank: a literal beats a parameter, which beats a wildcard. */
const rank = (segment: string) => (segment === '*' ? 0 : segment.startsWith(':') ? 1 : 2);

interface Pattern {
  path: string;
  segments: string[];
  regex: RegExp;
  methods: Set<string>;
}

/** Orders patterns most specific first: the first segment where they differ decides. */
function bySpecificity(a: Pattern, b: Pattern): number {
  for (let i = 0; i < Math.max(a.segments.length, b.segments.length); i++) {
    const difference = rank(b.segments[i] ?? '*') - rank(a.segments[i] ?? '*');
    if (difference !== 0) return difference;
  }
  return b.segments.length - a.segments.length;
}

export class RouteMethods {
  readonly #patterns: Pattern[];
  /**
   * Literal paths that a less specific route of another method also matches (`/jobs/batch`
   * under `GET /jobs/:id`), with the methods they really answer. The router would hand such
   * a request to the other route; the app answers 405 first.
   */
  readonly shadowed: ReadonlyMap<string, string[]>;

  /** `routes`: hono's `app.routes` (`ALL` entries are middleware, not resources). */
  constructor(routes: readonly RouteLike[], options: { shadowChecked?: (path: string) => boolean } = {}) {
    const byPath = new Map<string, Pattern>();
    for (const { method, path } of routes) {
      if (method === 'ALL') continue;
      let pattern = byPath.get(path);
      if (!pattern) {
        const segments = path.split('/').filter(Boolean);
        const source = path
          .replaceAll('.', '\\.')
          .replace(/\/:[^/]+/g, '/[^/]+')
          .replace(/\/\*$/, '(?:/.*)?');
        pattern = { path, segments, regex: new RegExp(`^${source}$`), methods: new Set() };
        byPath.set(path, pattern);
      }
      pattern.methods.add(method);
    }
    this.#patterns = [...byPath.values()].sort(bySpecificity);
    const shadowed = new Map<string, string[]>();
    for (const pattern of this.#patterns) {
      if (pattern.segments.some((s) => rank(s) < 2) || !(options.shadowChecked?.(pattern.path) ?? true)) continue;
      const others = this.#patterns.filter((p) => p !== pattern && p.regex.test(pattern.path));
      if (others.some((p) => [...p.methods].some((m) => !pattern.methods.has(m)))) {
        shadowed.set(pattern.path, this.allowed(pattern.path));
      }
    }
    this.shadowed = shadowed;
  }

  /** The methods of the most specific route matching `path` (HEAD with GET), sorted; [] if none. */
  allowed(path: string): string[] {
    const pattern = this.#patterns.find((p) => p.regex.test(path));
    if (!pattern) return [];
    const methods = new Set(pattern.methods);
    if (methods.has('GET')) methods.add('HEAD');
    return [...methods].sort();
  }
}
