/**
 * @module jobs/pending
 * Waiting for writes that may be absent. On the path of every `POST /jobs` one write is the
 * common case (no API key, so no index or feed entries; no webhook to track), and
 * `Promise.all` of it with `undefined`s beside it costs a promise and a reaction job per
 * element for nothing: the promise itself is what to wait for.
 */

/**
 * Settles when every defined promise of `pending` has (rejects with the first rejection, as
 * `Promise.all` does). One defined promise is returned as it is; `undefined`s are skipped.
 *
 * @example
 * await allOf([written, tracked, added]);
 */
export function allOf(pending: readonly (Promise<unknown> | undefined)[]): Promise<unknown> {
  let first: Promise<unknown> | undefined;
  let all: Promise<unknown>[] | undefined;
  for (const promise of pending) {
    if (promise === undefined) continue;
    if (first === undefined) first = promise;
    else if (all) all.push(promise);
    else all = [first, promise];
  }
  if (all) return Promise.all(all);
  return first ?? Promise.resolve();
}
