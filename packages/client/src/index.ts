/**
 * @module client
 * A typed jobcast client for Node (≥ 20) and browsers: submit (one job or a batch), get, list,
 * cancel, logs, and watch one or many jobs as an async iterator of typed events that resumes
 * by itself after a lost connection (Last-Event-ID) and ends after `done`; or follow the API
 * key's feed of all its jobs, which never ends.
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
import { type ParsedEvent, SseParser } from './sse-parser.js';
import type {
  DoneEvent,
  GoneEvent,
  JobBatch,
  JobList,
  JobLogs,
  JobOptionsInput,
  JobResource,
  JobState,
  LogEvent,
  Problem,
  ProgressEvent,
  ResetEvent,
  SummaryEvent,
  WebhookDeliveries,
} from './types.js';

export { type ConnectionState, SharedStream, type SharedStreamOptions } from './shared-stream.js';
/**
 * `ProgressEvent` and `JobResource` carry, besides the percentage: `rate` (percent per second)
 * and `eta` while a job runs, `details` (the handler's JSON object), `queuePosition` (1 = next)
 * and `expectedStartAt` while it waits, `stalled` while it runs, and `tags`.
 */
export type * from './types.js';
export * from './webhooks.js';

/** One event of a watched job. `seq` is the job's event sequence number (its resume cursor). */
export type WatchEvent =
  | { type: 'progress'; jobId: string; seq: number; data: ProgressEvent }
  | { type: 'log'; jobId: string; seq: number; data: LogEvent }
  | { type: 'done'; jobId: string; seq: number; data: DoneEvent }
  | { type: 'reset'; jobId: string; seq: number; data: ResetEvent }
  | { type: 'gone'; jobId: string; seq: number; data: GoneEvent };

/** The group's summary, on a `watchMany(ids, { summary: true })` (one per change). */
export interface GroupSummaryEvent {
  type: 'summary';
  data: SummaryEvent;
}

/**
 * One event of the API key's feed. `id` is its place in the feed (what `cursor` resumes from).
 * A `progress` event of the feed also names the job's `type` and `tags`.
 */
export type FeedEvent =
  | { type: 'progress'; jobId: string; id: string; data: ProgressEvent }
  | { type: 'done'; jobId: string; id: string; data: DoneEvent }
  | { type: 'reset'; id: string; data: ResetEvent };

export interface FeedOptions extends Omit<WatchOptions, 'cursors'> {
  /** Only jobs entering, in or leaving these states. */
  state?: JobState[];
  /** Only jobs of these types. */
  type?: string[];
  /** Only jobs with one of these tags. */
  tag?: string[];
  /** Resume after this feed id (a `FeedEvent`'s `id`); otherwise the feed starts now. */
  cursor?: string;
}

export interface ClientOptions {
  /** e.g. `http://127.0.0.1:3000`; in a page served by jobcast, `location.origin`. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /**
   * A stream token (`links.events` carries one, or `POST /events/tokens`): sent as `?token=` on
   * event streams, for a page that holds no key. REST calls do not take it.
   */
  streamToken?: string;
  fetch?: typeof fetch;
}

export interface WatchOptions {
  signal?: AbortSignal;
  /** Per-job cursors to resume from (seq of the last event already seen). */
  cursors?: Record<string, number>;
  /**
   * Called when the stream is live, and before each reconnect attempt, with why: the HTTP
   * status that refused it (503, 429) or the network error.
   */
  onConnection?: (state: 'live' | 'reconnecting', info: ConnectionInfo) => void;
  /** Reconnect when nothing (not even a heartbeat) arrives for this long. Default 45 s. */
  idleTimeoutMs?: number;
  /** Ceiling for the wait between reconnects (the server's `retry:` is the floor). */
  maxRetryMs?: number;
}

export interface ConnectionInfo {
  /** Consecutive failed attempts so far (0 when live). */
  attempt: number;
  status?: number;
  error?: unknown;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface SubmitOptions extends CallOptions {
  options?: JobOptionsInput;
  idempotencyKey?: string;
  /** Up to 10 labels to list and follow the job by (`list({ tag })`, `feed({ tag })`). */
  tags?: string[];
}

/** One job of a batch: what `submit` takes, as an object. */
export interface BatchJob {
  type: string;
  data?: unknown;
  options?: JobOptionsInput;
  tags?: string[];
}

/** A problem response (RFC 9457) from the API. */
export class JobcastError extends Error {
  override name = 'JobcastError';
  constructor(
    readonly status: number,
    /** The problem details; fields may be missing when the answer came from something else (a proxy). */
    readonly problem: Partial<Problem>,
  ) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
  }
}

export class JobcastClient {
  readonly #base: string;
  readonly #headers: Record<string, string>;
  readonly #fetch: typeof fetch;
  readonly #streamToken: string | undefined;

  constructor(options: ClientOptions) {
    // Fail now on a URL fetch could never use, rather than retrying it forever in watch().
    new URL(options.baseUrl);
    this.#base = options.baseUrl.replace(/\/+$/, '');
    this.#headers = options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {};
    this.#fetch = options.fetch ?? ((...args) => fetch(...args));
    this.#streamToken = options.streamToken;
  }

  submit(
    type: string,
    data: unknown = {},
    { options, idempotencyKey, tags, signal }: SubmitOptions = {},
  ): Promise<JobResource> {
    return this.#json(
      'POST',
      '/jobs',
      { type, data, ...(options ? { options } : {}), ...(tags ? { tags } : {}) },
      { ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}) },
      signal,
    );
  }

  /**
   * Submits up to 100 jobs in one request, all or none. Far cheaper per job than one
   * `submit` each; `links.events` watches them all (or pass their ids to `watchMany`).
   */
  submitBatch(
    jobs: BatchJob[],
    { idempotencyKey, signal }: Omit<SubmitOptions, 'options' | 'tags'> = {},
  ): Promise<JobBatch> {
    return this.#json(
      'POST',
      '/jobs/batch',
      { jobs },
      { ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}) },
      signal,
    );
  }

  get(id: string, { signal }: CallOptions = {}): Promise<JobResource> {
    return this.#json('GET', `/jobs/${encodeURIComponent(id)}`, undefined, {}, signal);
  }

  /**
   * A page of the API key's jobs, newest first. Needs an API key: a service without keys lists
   * nothing (403 `listing-needs-key`), since there a job id is the only way to a job.
   */
  list(
    query: { state?: JobState; type?: string; tag?: string; limit?: number; cursor?: string } = {},
    { signal }: CallOptions = {},
  ): Promise<JobList> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
    return this.#json('GET', `/jobs${params.size ? `?${params}` : ''}`, undefined, {}, signal);
  }

  cancel(id: string, { signal }: CallOptions = {}): Promise<JobResource> {
    return this.#json('POST', `/jobs/${encodeURIComponent(id)}/cancel`, undefined, {}, signal);
  }

  logs(id: string, { signal }: CallOptions = {}): Promise<JobLogs> {
    return this.#json('GET', `/jobs/${encodeURIComponent(id)}/logs`, undefined, {}, signal);
  }

  /** A job's webhook deliveries: status, attempts, last response code, next attempt. */
  webhooks(id: string, { signal }: CallOptions = {}): Promise<WebhookDeliveries> {
    return this.#json('GET', `/jobs/${encodeURIComponent(id)}/webhooks`, undefined, {}, signal);
  }

  /** Watches one job until `done`. */
  watch(id: string, options: WatchOptions = {}): AsyncGenerator<WatchEvent> {
    return this.watchMany([id], options);
  }

  /**
   * Watches many jobs over one connection until every one is `done`. Resumes after a dropped
   * connection from the last event seen, so no event is repeated and `done` is never missed.
   * With `summary: true`, also yields the group's `summary` after every change.
   */
  watchMany(ids: string[], options: WatchOptions & { summary: true }): AsyncGenerator<WatchEvent | GroupSummaryEvent>;
  watchMany(ids: string[], options?: WatchOptions & { summary?: false }): AsyncGenerator<WatchEvent>;
  async *watchMany(
    ids: string[],
    options: WatchOptions & { summary?: boolean } = {},
  ): AsyncGenerator<WatchEvent | GroupSummaryEvent> {
    if (ids.length === 0) return;
    const cursors = ids.map((id) => options.cursors?.[id] ?? 0);
    const finished = new Set<string>();
    const token = this.#streamToken === undefined ? '' : `token=${encodeURIComponent(this.#streamToken)}`;
    const path =
      ids.length === 1
        ? `/jobs/${encodeURIComponent(ids[0] as string)}/events${token ? `?${token}` : ''}`
        : `/events?jobs=${ids.map(encodeURIComponent).join(',')}${options.summary ? '&summary=true' : ''}${token ? `&${token}` : ''}`;
    yield* this.#follow<WatchEvent | GroupSummaryEvent>(path, options, {
      lastEventId: () => (cursors.some(Boolean) ? cursors.join('.') : undefined),
      read: ({ id, event, data }) => {
        if (event === 'summary') {
          const summary = parseJson(data) as SummaryEvent | undefined;
          return options.summary && summary ? { type: 'summary', data: summary } : undefined;
        }
        const received = readEvent(ids, id, event, data);
        if (!received) return undefined;
        if (ids.length === 1) cursors[0] = Math.max(cursors[0] ?? 0, received.seq);
        else
          for (const [i, part] of (id ?? '').split('.').entries())
            cursors[i] = Math.max(cursors[i] ?? 0, Number(part) || 0);
        return ids.length === 1 || ids.includes(received.jobId) ? received : undefined;
      },
      ended: (event) => {
        if (event.type === 'done' || event.type === 'gone') finished.add(event.jobId);
        // The group's last summary follows the last done.
        return finished.size === ids.length && (!options.summary || ids.length === 1 || event.type === 'summary');
      },
    });
  }

  /**
   * Follows the API key's feed: every job the key submits, from any client, as it is created
   * and changes (filtered by `state`, `type`, `tag`). It never ends by itself: stop it with
   * `signal` or by leaving the loop. It resumes after a dropped connection from the last feed
   * id seen (what was missed comes conflated per job). Needs an API key.
   */
  async *feed(options: FeedOptions = {}): AsyncGenerator<FeedEvent> {
    let cursor = options.cursor;
    const params = new URLSearchParams();
    for (const name of ['state', 'type', 'tag'] as const) {
      const values = options[name];
      if (values?.length) params.set(name, values.join(','));
    }
    const path = `/events/feed${params.size ? `?${params}` : ''}`;
    yield* this.#follow<FeedEvent>(path, options, {
      lastEventId: () => cursor,
      read: ({ id, event, data }) => {
        if (id) cursor = id;
        const parsed = parseJson(data) as { jobId?: unknown } | undefined;
        if (!parsed || id === undefined) return undefined;
        if (event === 'reset') return { type: 'reset', id, data: parsed as ResetEvent };
        if ((event === 'progress' || event === 'done') && typeof parsed.jobId === 'string') {
          return { type: event, jobId: parsed.jobId, id, data: parsed } as FeedEvent;
        }
        return undefined;
      },
      // The first frame holds only an id: where this stream starts.
      parsed: (parser) => {
        if (parser.lastEventId) cursor = parser.lastEventId;
      },
      ended: () => false,
    });
  }

  /**
   * One event stream, followed across connections: each connection sends `lastEventId()`,
   * its events go through `read` (undefined: not for the caller), and the stream is over once
   * `ended` says so for an event, or the server answers 204.
   */
  async *#follow<T>(
    path: string,
    options: WatchOptions,
    stream: {
      lastEventId: () => string | undefined;
      read: (event: ParsedEvent) => T | undefined;
      ended: (event: T) => boolean;
      parsed?: (parser: SseParser) => void;
    },
  ): AsyncGenerator<T> {
    const idleTimeoutMs = options.idleTimeoutMs ?? 45_000;
    let retryMs = 1_000;
    let failures = 0;
    const reconnecting = async (info: ConnectionInfo) => {
      options.onConnection?.('reconnecting', info);
      await sleep(backoff(retryMs, failures, options.maxRetryMs), options.signal);
    };
    while (!options.signal?.aborted) {
      // One controller per connection: the caller's signal ends it, and so does silence
      // longer than idleTimeoutMs (a connection that died without a reset never ends by itself).
      const connection = new AbortController();
      const onAbort = () => connection.abort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      let idle: ReturnType<typeof setTimeout> | undefined;
      const resetIdle = () => {
        clearTimeout(idle);
        idle = setTimeout(() => connection.abort(new Error('stream idle')), idleTimeoutMs);
      };
      try {
        let response: Response;
        try {
          resetIdle();
          const lastEventId = stream.lastEventId();
          response = await this.#fetch(`${this.#base}${path}`, {
            headers: {
              ...this.#headers,
              accept: 'text/event-stream',
              ...(lastEventId ? { 'last-event-id': lastEventId } : {}),
            },
            signal: connection.signal,
          });
        } catch (error) {
          if (options.signal?.aborted) return;
          failures++;
          await reconnecting({ attempt: failures, error });
          continue;
        }
        // 204: everything up to done was already delivered.
        if (response.status === 204) return;
        if (!response.ok || !response.body) {
          const problem = await readProblem(response);
          // 5xx and 429 are worth retrying; anything else is the caller's to handle.
          if (response.status >= 500 || response.status === 429) {
            failures++;
            await reconnecting({ attempt: failures, status: response.status });
            continue;
          }
          throw new JobcastError(response.status, problem);
        }
        failures = 0;
        options.onConnection?.('live', { attempt: 0, status: response.status });
        const queue: T[] = [];
        const parser = new SseParser({
          onRetry: (ms) => {
            retryMs = ms;
          },
          onEvent: (event) => {
            const received = stream.read(event);
            if (received !== undefined) queue.push(received);
          },
        });
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let over = false;
        try {
          while (!over) {
            const { value, done } = await reader.read();
            if (done) break;
            resetIdle();
            parser.feed(value);
            stream.parsed?.(parser);
            while (queue.length > 0 && !over) {
              const event = queue.shift() as T;
              over = stream.ended(event);
              yield event;
            }
          }
        } catch (error) {
          if (options.signal?.aborted) return;
          // The connection broke or went silent: resume below.
          failures = 0;
          await reconnecting({ attempt: 1, error });
          continue;
        } finally {
          reader.releaseLock();
          // A generator closed early by the consumer lands here too: drop the connection.
          response.body.cancel().catch(() => {});
        }
        if (over) return;
        await reconnecting({ attempt: 1 });
      } finally {
        clearTimeout(idle);
        options.signal?.removeEventListener('abort', onAbort);
        connection.abort();
      }
    }
  }

  async #json<T>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
    signal?: AbortSignal,
  ): Promise<T> {
    const response = await this.#fetch(`${this.#base}${path}`, {
      method,
      ...(signal ? { signal } : {}),
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

const EVENT_NAMES = new Set(['progress', 'log', 'done', 'reset', 'gone']);

/** JSON, or undefined: one unreadable event must not break (and endlessly re-request) a stream. */
function parseJson(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}

/** A received event as a typed WatchEvent; undefined for anything this client does not know. */
function readEvent(ids: string[], id: string | undefined, event: string, data: string): WatchEvent | undefined {
  if (!EVENT_NAMES.has(event)) return undefined;
  const parsed = parseJson(data) as { jobId?: unknown } | undefined;
  if (typeof parsed?.jobId !== 'string') return undefined;
  const index = ids.length === 1 ? 0 : ids.indexOf(parsed.jobId);
  const seq = Number((id ?? '').split('.')[index] ?? Number.NaN);
  return { type: event, jobId: parsed.jobId, seq: Number.isFinite(seq) ? seq : 0, data: parsed } as WatchEvent;
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
