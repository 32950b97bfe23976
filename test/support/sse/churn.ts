/**
 * Stream churn: many short-lived event streams, each dropped by its client at a chosen moment
 * — before the response starts, right after its headers, or after the first event — the way
 * tabs close, pages navigate and mobile links die.
 */
import { request as httpRequest } from 'node:http';

/** When the client goes away. */
export type DropAt = 'request-sent' | 'headers' | 'first-event';

export interface ChurnResult {
  /** Streams by status code (0 = the client left before a response). */
  statuses: Map<number, number>;
  /** Streams by when they were dropped, or `ended` if the server ended them first. */
  outcomes: Map<string, number>;
}

/** Opens one stream and drops it at `dropAt`; resolves once its socket is closed. */
function churnOne(url: string, dropAt: DropAt, timeoutMs: number): Promise<{ status: number; outcome: string }> {
  return new Promise((resolve) => {
    let status = 0;
    let outcome = 'timeout';
    const req = httpRequest(url, { agent: false, headers: { accept: 'text/event-stream' } });
    const drop = (why: string) => {
      outcome = why;
      req.destroy();
    };
    const timer = setTimeout(() => drop('timeout'), timeoutMs);
    req.on('error', () => {});
    req.once('close', () => {
      clearTimeout(timer);
      resolve({ status, outcome });
    });
    if (dropAt === 'request-sent') req.once('finish', () => drop(dropAt));
    req.once('response', (res) => {
      status = res.statusCode ?? 0;
      res.on('error', () => {});
      if (dropAt === 'headers') return drop(dropAt);
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        // The first event: a `data:` line ended by a blank line (`retry:` alone is not one).
        if (outcome === 'timeout' && /\ndata: .*\n\n/.test(text)) drop(dropAt);
      });
      res.once('end', () => {
        if (outcome === 'timeout') outcome = 'ended';
      });
    });
    req.end();
  });
}

/**
 * Opens `total` streams, `concurrency` at a time; stream i goes to `urls[i % urls.length]`
 * and is dropped at `dropAts[i % dropAts.length]`.
 */
export async function churn(
  urls: string[],
  dropAts: DropAt[],
  total: number,
  concurrency: number,
  timeoutMs = 10_000,
): Promise<ChurnResult> {
  const result: ChurnResult = { statuses: new Map(), outcomes: new Map() };
  const count = <K>(map: Map<K, number>, key: K) => map.set(key, (map.get(key) ?? 0) + 1);
  for (let from = 0; from < total; from += concurrency) {
    const batch = [];
    for (let i = from; i < Math.min(total, from + concurrency); i++) {
      batch.push(churnOne(urls[i % urls.length] as string, dropAts[i % dropAts.length] as DropAt, timeoutMs));
    }
    for (const { status, outcome } of await Promise.all(batch)) {
      count(result.statuses, status);
      count(result.outcomes, outcome);
    }
  }
  return result;
}

/** Counts of `process.getActiveResourcesInfo()` by type. */
export function activeResources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1;
  return counts;
}
