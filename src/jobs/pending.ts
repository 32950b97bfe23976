/**
 * @module jobs/pending
 * Waiting for writes that may be absent. On the path of every `POST /jobs` one write is the
 * common case (no API key, so no index or feed entries; no webhook to track), and
 * `Promise.all` of it with `undefined`s beside it costs a promise and a reaction job per
 * element for nothing: the promise itself is what to wait for.
 */

/**
 * Settles when every defined promise of `pending` has (rejects with the first rejection, as
 * `Promise.all` does). One defined promise is returned as it is.
 *
 * @example
 * await allOf([written, tracked, added]);
 */
export function allOf(pending: readonly (Promise<unknown> | undefined)[]): Promise<unknown> {
  let only: Promise<unknown> | undefined;
  let defined = 0;
  for (const promise of pending) {
    if (promise === undefined) continue;
    only = promise;
    defined++;
  }
  if (defined === 1) return only as Promise<unknown>;
  return Promise.all(pending);
}
