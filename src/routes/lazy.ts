/**
 * @module routes/lazy
 * Parts of the API that only some requests need (the API description, the operator view),
 * loaded on their first request instead of at start: every process start pays for the modules
 * it loads — and the tests start dozens — while most processes never serve these.
 *
 * A part that cannot be loaded (a file missing from a broken install) answers a 503 problem that
 * says which part, its cause logged; the next request tries again.
 *
 * @example
 * const openApi = lazily('the API description', () => import('../openapi/index.js'));
 * app.get('/openapi.json', async (c) => c.json((await openApi()).openApiDocument()));
 */
import { ProblemError } from '../problems.js';

export function lazily<T>(part: string, load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () => {
    loading ??= load().catch((cause: unknown) => {
      loading = undefined;
      throw new ProblemError('unavailable', `${part} could not be loaded; retry shortly`, { cause });
    });
    return loading;
  };
}
