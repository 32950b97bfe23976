/**
 * @module events/cursors
 * Resume cursors: every event of a job has a `seq`. A single-job stream's `id:` is the seq of
 * the event; a multi-job stream's `id:` is the cursors of all its jobs joined by `.`, in the
 * order of the `jobs` parameter, so one Last-Event-ID resumes all of them (`4.0.12`). This
 * module reads them back; `events/session` writes them.
 */

/**
 * The cursor of a job whose `gone` event was delivered: beyond any real event, so the job is
 * done for that client and a resume does not say `gone` again (cursors have ≤ 15 digits).
 */
export const GONE_CURSOR = 999_999_999_999_999;

/**
 * Reads a Last-Event-ID for `count` jobs: a non-negative integer per job, `.`-separated.
 * Anything else means "from the start", as if no id had been sent.
 */
export function parseCursors(lastEventId: string | undefined, count: number): number[] {
  const zeros = new Array<number>(count).fill(0);
  if (!lastEventId) return zeros;
  const parts = lastEventId.trim().split('.');
  if (parts.length !== count || !parts.every((p) => /^\d{1,15}$/.test(p))) return zeros;
  return parts.map(Number);
}
