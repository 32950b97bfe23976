/**
 * @module shared-stream
 * One event stream for many jobs that come and go (the `<jobcast-progress>` elements of a page):
 * every job still to watch, over a single connection with `JobcastClient.watchMany`. Browsers
 * allow about six HTTP/1.1 connections per origin, so a stream per job would stall a page at
 * the seventh job.
 *
 * When the set of jobs changes (a job is started), the stream is restarted with the new id list
 * and each job's cursor, so the server sends only what is new. At most one connection is open at
 * a time: a restart waits until the previous stream has let go of its connection.
 *
 * A refused stream (401: the service needs an API key) is not retried: the owner is told, and
 * restarts the stream once it has a key.
 */
import { type JobcastClient, JobcastError, type WatchEvent } from './index.js';

/** `connecting` until the first response, `idle` when nothing needs watching. */
export type ConnectionState = 'idle' | 'connecting' | 'live' | 'reconnecting';

/** The server's limit of jobs per multiplexed stream (`MAX_JOBS_PER_STREAM`). */
const MAX_JOBS_PER_STREAM = 100;
/** A person is watching: after an outage, try again at least this often. */
const MAX_RETRY_MS = 5_000;
/** Wait after an error the client does not retry by itself, before trying again. */
const ERROR_PAUSE_MS = 5_000;
/** A burst of started jobs (a few clicks) becomes one reconnect instead of one per job. */
const RESTART_DELAY_MS = 100;

export interface SharedStreamOptions {
  /** The client of the moment (the page makes a new one when its API key changes). */
  client(): JobcastClient;
  /** The jobs to watch now (newest first) and the resume cursor of each. */
  targets(): { ids: string[]; cursors: Record<string, number> };
  onEvent(event: WatchEvent): void;
  onConnection(state: ConnectionState): void;
  /**
   * The server does not know one of `ids` (expired, or never existed): find out which and
   * forget them. The stream restarts when the returned promise settles.
   */
  onNotFound(ids: string[]): Promise<void>;
  /** The stream ended with every job done; refresh any the page still thinks is running. */
  onEnded(ids: string[]): Promise<void>;
  onError(error: unknown): void;
  /** The stream sent by `client` was refused (401). It stays closed until the next restart. */
  onUnauthorized(client: JobcastClient): void;
}

export class SharedStream {
  readonly #options: SharedStreamOptions;
  #controller: AbortController | undefined;
  /** The current stream's loop; settles once its connection is released. */
  #running: Promise<void> = Promise.resolve();
  /** A restart is waiting for the previous loop; later restarts join it (it reads targets late). */
  #pending = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: SharedStreamOptions) {
    this.#options = options;
  }

  /**
   * (Re)opens the stream for the current targets, shortly: calls within `RESTART_DELAY_MS`
   * coalesce, and the old stream keeps delivering until then.
   */
  restart(): void {
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.#restartNow();
    }, RESTART_DELAY_MS);
  }

  #restartNow(): void {
    this.#controller?.abort();
    if (this.#pending) return;
    this.#pending = true;
    const previous = this.#running;
    this.#running = previous.then(() => {
      this.#pending = false;
      return this.#run();
    });
  }

  /** Closes the stream for good (the page is going away). */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#controller?.abort();
  }

  async #run(): Promise<void> {
    const options = this.#options;
    const { ids: all, cursors } = options.targets();
    const ids = all.slice(0, MAX_JOBS_PER_STREAM);
    if (ids.length === 0) {
      options.onConnection('idle');
      return;
    }
    const controller = new AbortController();
    this.#controller = controller;
    const { signal } = controller;
    const client = options.client();
    options.onConnection('connecting');
    try {
      for await (const event of client.watchMany(ids, {
        signal,
        cursors,
        maxRetryMs: MAX_RETRY_MS,
        onConnection: (state) => {
          if (!signal.aborted) options.onConnection(state);
        },
      })) {
        if (signal.aborted) return;
        options.onEvent(event);
      }
      if (signal.aborted) return;
      await options.onEnded(ids);
      // Still unfinished after a refresh (the API went away just then): do not spin.
      if (this.#stillWatching(ids, 'any')) await pause(ERROR_PAUSE_MS, signal);
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof JobcastError && error.status === 401) {
        options.onUnauthorized(client);
        return;
      }
      if (error instanceof JobcastError && error.status === 404) {
        await options.onNotFound(ids);
        // Every job is still there, yet the stream says one is not: do not spin either.
        if (this.#stillWatching(ids, 'all')) {
          options.onError(error);
          await pause(ERROR_PAUSE_MS, signal);
        }
      } else {
        options.onError(error);
        options.onConnection('reconnecting');
        await pause(ERROR_PAUSE_MS, signal);
        if (signal.aborted) return;
      }
    }
    // Jobs beyond the per-stream limit, or a retry after an error: go again with what is left.
    if (!signal.aborted) this.#restartNow();
  }

  /** Whether any (or all) of `ids` still need watching. */
  #stillWatching(ids: string[], quantifier: 'any' | 'all'): boolean {
    const left = new Set(this.#options.targets().ids);
    return quantifier === 'any' ? ids.some((id) => left.has(id)) : ids.every((id) => left.has(id));
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
