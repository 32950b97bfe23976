/**
 * @module client
 * A typed jobcast client for Node (≥ 20) and browsers: submit, get, list, cancel, logs, and
 * watch one or many jobs as an async iterator of typed events that resumes by itself after a
 * lost connection (Last-Event-ID) and ends after `done`.
 *
 * It reads event streams with `fetch` rather than EventSource, so it can send headers
 * (Authorization, Last-Event-ID) and stop cleanly on 204.
 *
 * @example
 * const jobcast = new JobcastClient({ baseUrl: 'http://127.0.0.1:3000' });
 * const job = await jobcast.submit('simulate', { steps: 5 });
 * for await (const event of jobcast.watch(job.id)) {
 *   if (event.type === 'progress') console.log(event.data.progress);
 *   if (event.type === 'done') console.log(event.data.status);
 * }
 */
import type { DoneEvent, JobResource, JobState, LogEvent, ProgressEvent } from '../jobs/schemas.js';
import { SseParser } from './sse-parser.js';

export type { DoneEvent, JobResource, JobState, LogEvent, ProgressEvent };

export interface ResetEvent {
  jobId: string;
  reason: string;
}

/** One event of a watched job. `seq` is the job's event sequence number (its resume cursor). */
export type WatchEvent =
  | { type: 'progress'; jobId: string; seq: number; data: ProgressEvent }
  | { type: 'log'; jobId: string; seq: number; data: LogEvent }
  | { type: 'done'; jobId: string; seq: number; data: DoneEvent }
  | { type: 'reset'; jobId: string; seq: number; data: ResetEvent };

export interface ClientOptions {
  /** e.g. `http://127.0.0.1:3000`; in a page served by jobcast, `location.origin`. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  fetch?: typeof fetch;
}

export interface WatchOptions {
  signal?: AbortSignal;
  /** Per-job cursors to resume from (seq of the last event already seen). */
  cursors?: Record<string, number>;
  /** Called when the connection drops and when it is live again. */
  onConnection?: (state: 'live' | 'reconnecting') => void;
  /** Ceiling for the wait between reconnects (the server's `retry:` is the floor). */
  maxRetryMs?: number;
}

export interface SubmitOptions {
  options?: { attempts?: number; backoffMs?: number; delayMs?: number; priority?: number };
  idempotencyKey?: string;
}

/** A problem response (RFC 9457) from the API. */
export class JobcastError extends Error {
  override name = 'JobcastError';
  constructor(
    readonly status: number,
    readonly problem: { type?: string; title?: string; detail?: string; [key: string]: unknown },
  ) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
  }
}

export class JobcastClient {
  readonly #base: string;
  readonly #headers: Record<string, string>;
  readonly #fetch: typeof fetch;

  constructor(options: ClientOptions) {
    this.#base = options.baseUrl.replace(/\/+$/, '');
    this.#headers = options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {};
    this.#fetch = options.fetch ?? ((...args) => fetch(...args));
  }

  submit(type: string, data: unknown = {}, { options, idempotencyKey }: SubmitOptions = {}): Promise<JobResource> {
    return this.#json(
      'POST',
      '/jobs',
      { type, data, ...(options ? { options } : {}) },
      {
        ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
      },
    );
  }

  get(id: string): Promise<JobResource> {
    return this.#json('GET', `/jobs/${encodeURIComponent(id)}`);
  }

  list(query: { state?: JobState; type?: string; limit?: number; cursor?: string } = {}): Promise<{
    items: JobResource[];
    nextCursor: string | null;
  }> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
    return this.#json('GET', `/jobs${params.size ? `?${params}` : ''}`);
  }

  cancel(id: string): Promise<JobResource> {
    return this.#json('POST', `/jobs/${encodeURIComponent(id)}/cancel`);
  }

  logs(id: string): Promise<{ items: { seq: number; line: string; at: string }[]; truncated: boolean }> {
    return this.#json('GET', `/jobs/${encodeURIComponent(id)}/logs`);
  }

  /** Watches one job until `done`. */
  watch(id: string, options: WatchOptions = {}): AsyncGenerator<WatchEvent> {
    return this.watchMany([id], options);
  }

  /**
   * Watches many jobs over one connection until every one is `done`. Resumes after a dropped
   * connection from the last event seen, so no event is repeated and `done` is never missed.
   */
  async *watchMany(ids: string[], options: WatchOptions = {}): AsyncGenerator<WatchEvent> {
    if (ids.length === 0) return;
    const cursors = ids.map((id) => options.cursors?.[id] ?? 0);
    const finished = new Set<string>();
    const path =
      ids.length === 1
        ? `/jobs/${encodeURIComponent(ids[0] as string)}/events`
        : `/events?jobs=${ids.map(encodeURIComponent).join(',')}`;
    let retryMs = 1_000;
    let failures = 0;
    while (!options.signal?.aborted) {
      const lastEventId = cursors.join('.');
      let response: Response;
      try {
        response = await this.#fetch(`${this.#base}${path}`, {
          headers: {
            ...this.#headers,
            accept: 'text/event-stream',
            ...(cursors.some(Boolean) ? { 'last-event-id': lastEventId } : {}),
          },
          signal: options.signal,
        });
      } catch {
        if (options.signal?.aborted) return;
        failures++;
        options.onConnection?.('reconnecting');
        await sleep(backoff(retryMs, failures, options.maxRetryMs), options.signal);
        continue;
      }
      // 204: everything up to done was already delivered.
      if (response.status === 204) return;
      if (!response.ok || !response.body) {
        const problem = await readProblem(response);
        // 5xx and 429 are worth retrying; anything else is the caller's to handle.
        if (response.status >= 500 || response.status === 429) {
          failures++;
          options.onConnection?.('reconnecting');
          await sleep(backoff(retryMs, failures, options.maxRetryMs), options.signal);
          continue;
        }
        throw new JobcastError(response.status, problem);
      }
      failures = 0;
      options.onConnection?.('live');
      const queue: WatchEvent[] = [];
      const parser = new SseParser({
        onRetry: (ms) => {
          retryMs = ms;
        },
        onEvent: ({ id, event, data }) => {
          const parsed = JSON.parse(data) as { jobId: string };
          const index = ids.length === 1 ? 0 : ids.indexOf(parsed.jobId);
          if (index < 0) return;
          const seq = Number((id ?? '').split('.')[ids.length === 1 ? 0 : index]);
          if (Number.isFinite(seq) && seq > 0) {
            if (ids.length === 1) cursors[0] = seq;
            else
              for (const [i, part] of (id ?? '').split('.').entries())
                cursors[i] = Math.max(cursors[i] ?? 0, Number(part) || 0);
          }
          queue.push({ type: event as WatchEvent['type'], jobId: parsed.jobId, seq, data: parsed } as WatchEvent);
        },
      });
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          parser.feed(value);
          while (queue.length > 0) {
            const event = queue.shift() as WatchEvent;
            if (event.type === 'done') finished.add(event.jobId);
            yield event;
          }
          if (finished.size === ids.length) return;
        }
      } catch {
        if (options.signal?.aborted) return;
        // The connection broke: fall through and resume.
      } finally {
        reader.releaseLock();
        // A generator closed early by the consumer lands here too: drop the connection.
        response.body.cancel().catch(() => {});
      }
      if (finished.size === ids.length) return;
      options.onConnection?.('reconnecting');
      await sleep(backoff(retryMs, 0, options.maxRetryMs), options.signal);
    }
  }

  async #json<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const response = await this.#fetch(`${this.#base}${path}`, {
      method,
      headers: {
        ...this.#headers,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!response.ok) throw new JobcastError(response.status, await readProblem(response));
    return (await response.json()) as T;
  }
}

async function readProblem(response: Response): Promise<JobcastError['problem']> {
  try {
    return (await response.json()) as JobcastError['problem'];
  } catch {
    return { title: response.statusText || `HTTP ${response.status}` };
  }
}

/** The server's retry interval, growing on repeated failures, with jitter. */
function backoff(retryMs: number, failures: number, maxMs = 30_000): number {
  const base = Math.min(maxMs, retryMs * 2 ** Math.min(failures, 6));
  return base / 2 + Math.random() * (base / 2);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
