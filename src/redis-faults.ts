/**
 * @module redis-faults
 * What a failed Redis command means, in one place: which kind of fault it is (unreachable,
 * frozen, full, read-only…), what a client is told (a 503, never Redis's own text), and what an
 * operator is told (one line of advice per outage, naming the URL and what to check, instead of
 * a warning from every connection on every retry).
 */
import { ReplyError } from 'ioredis';
import type { Logger } from './log.js';

/**
 * - `unreachable`: no connection (refused, reset, DNS, closed, retries exhausted).
 * - `timeout`: connected, but no answer within REDIS_COMMAND_TIMEOUT_MS (frozen or overloaded).
 * - `out-of-memory`: `maxmemory` reached with `noeviction`: writes are refused.
 * - `read-only`: connected to a replica (a failover in progress, or a wrong URL).
 * - `loading`: Redis is loading its data set after a restart.
 * - `busy`: a script or module command is blocking Redis.
 * - `auth`: our credentials were refused.
 * - `cluster-down`: a Cluster or Sentinel set-up without a usable master.
 * - `error`: any other error Redis answered.
 */
export type RedisFaultKind =
  | 'unreachable'
  | 'timeout'
  | 'out-of-memory'
  | 'read-only'
  | 'loading'
  | 'busy'
  | 'auth'
  | 'cluster-down'
  | 'error';

/** Error replies by their first word (the error code Redis puts first). */
const REPLY_CODES: Record<string, RedisFaultKind> = {
  OOM: 'out-of-memory',
  READONLY: 'read-only',
  LOADING: 'loading',
  BUSY: 'busy',
  NOSCRIPT: 'error',
  NOAUTH: 'auth',
  WRONGPASS: 'auth',
  NOPERM: 'auth',
  MASTERDOWN: 'cluster-down',
  NOREPLICAS: 'cluster-down',
  CLUSTERDOWN: 'cluster-down',
  TRYAGAIN: 'cluster-down',
  MOVED: 'cluster-down',
  ASK: 'cluster-down',
};

/** ioredis and BullMQ say "no connection" in these words (they export no classes for most). */
const UNREACHABLE =
  /Connection is closed|Stream isn't writeable|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|EPIPE|All sentinels are unreachable|None of startup nodes is available|Failed to refresh slots cache/;

const UNREACHABLE_NAMES = new Set([
  'MaxRetriesPerRequestError',
  'ClusterAllFailedError',
  'AbortError',
  'ConnectionClosedError',
]);

/**
 * The kind of Redis fault behind `error`, or undefined when it is not a Redis fault (a bug of
 * ours, a bad input): those stay 500s and are logged as errors.
 */
export function redisFault(error: unknown): RedisFaultKind | undefined {
  if (!(error instanceof Error)) return undefined;
  if (error.message === 'Command timed out') return 'timeout';
  if (UNREACHABLE_NAMES.has(error.name) || UNREACHABLE.test(error.message)) return 'unreachable';
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && UNREACHABLE.test(code)) return 'unreachable';
  // BullMQ passes script errors on as they come, sometimes re-wrapped: the code is found
  // inside the text too ("… OOM command not allowed when used memory > 'maxmemory' …").
  if (/\bOOM command not allowed\b/.test(error.message)) return 'out-of-memory';
  const word = /^[A-Z]+/.exec(error.message)?.[0];
  if (error instanceof ReplyError || error.name === 'ReplyError') {
    return (word && REPLY_CODES[word]) || 'error';
  }
  if (word && word !== 'ERR' && REPLY_CODES[word] && /^[A-Z]+ /.test(error.message)) return REPLY_CODES[word];
  return undefined;
}

/** True for any error that comes from Redis or from not reaching it: a 503, never a 500. */
export const isRedisFault = (error: unknown): boolean => redisFault(error) !== undefined;

/** What a client may be told: our words, never Redis's. */
export const PUBLIC_REASONS: Record<RedisFaultKind, string> = {
  unreachable: 'the job store (Redis) is unreachable',
  timeout: 'the job store (Redis) did not answer in time',
  'out-of-memory': 'the job store (Redis) is full and refuses writes',
  'read-only': 'the job store (Redis) is read-only (a failover may be in progress)',
  loading: 'the job store (Redis) is loading its data',
  busy: 'the job store (Redis) is busy',
  auth: 'the job store (Redis) refused our credentials',
  'cluster-down': 'the job store (Redis) has no usable master right now',
  error: 'the job store (Redis) answered with an error',
};

/** The public `error` of a job that failed because Redis did (its record must not quote Redis). */
export const REDIS_FAILURE_REASON = 'the job store (Redis) failed while this job ran; submit it again';

/**
 * A failure reason fit for a job's public `error`: BullMQ keeps the text of whatever the
 * processor threw, and a Redis error's text (`OOM command not allowed … script: 85da46…`) is
 * Redis's, not the job's.
 */
export function publicFailure(reason: string): string {
  const error = new Error(reason);
  if (/^(ReplyError|MaxRetriesPerRequestError|ClusterAllFailedError): /.test(reason)) return REDIS_FAILURE_REASON;
  return isRedisFault(error) ? REDIS_FAILURE_REASON : reason;
}

/** One line for an operator: what is wrong, with which Redis, and what to check. */
export function redisAdvice(kind: RedisFaultKind, url: string, timeoutMs: number): string {
  const at = `Redis at ${url}`;
  switch (kind) {
    case 'unreachable':
      return `cannot reach ${at}: check that Redis runs there and that REDIS_URL is right (unset, npm start runs its own); retrying, and answering 503 meanwhile`;
    case 'timeout':
      return `${at} did not answer within ${timeoutMs} ms (REDIS_COMMAND_TIMEOUT_MS): is it frozen, swapping or overloaded? check its CPU, memory and SLOWLOG; answering 503 meanwhile`;
    case 'out-of-memory':
      return `${at} is out of memory and refuses writes: raise maxmemory (CONFIG SET maxmemory …) or free memory, and keep maxmemory-policy noeviction; unfinished jobs are reconciled once it accepts writes again`;
    case 'read-only':
      return `${at} is a read-only replica: point REDIS_URL at the master, or use REDIS_SENTINELS to follow failovers`;
    case 'loading':
      return `${at} is loading its data set after a restart; it answers once loaded`;
    case 'busy':
      return `${at} is busy running a script (BUSY): see SCRIPT KILL / FUNCTION KILL`;
    case 'auth':
      return `${at} refused our credentials: check the user and password in REDIS_URL`;
    case 'cluster-down':
      return `${at} has no usable master (Cluster or Sentinel): check the cluster state`;
    case 'error':
      return `${at} answered with an error`;
  }
}

/** The URL without its password, for logs. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return '(unparseable REDIS_URL)';
  }
}

/** A kind is advised again after this long if it is still happening. */
const READVISE_MS = 60_000;

/**
 * Logs Redis faults as one line of advice per kind and outage, and one line when the
 * connection is back. Every connection and queue of a process reports here (see
 * {@link redisFaultLog}), so an outage reads as one line, not one warning per connection per
 * retry.
 */
export class RedisFaultLog {
  readonly #log: Logger;
  readonly #url: string;
  readonly #timeoutMs: number;
  /** When each kind was last advised. */
  readonly #advised = new Map<RedisFaultKind, number>();
  #since: number | undefined;
  /** A connection reported Redis unreachable, and none has been ready since. */
  #down = false;

  constructor(log: Logger, url: string, timeoutMs: number) {
    this.#log = log;
    this.#url = redactedUrl(url);
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Records `error`. Returns false, logging nothing, when it is not a Redis fault: the caller
   * logs that as the unexpected error it is.
   */
  report(error: unknown): boolean {
    const kind = this.classify(error);
    if (!kind) return false;
    if (kind === 'unreachable') this.#down = true;
    const now = Date.now();
    this.#since ??= now;
    const last = this.#advised.get(kind);
    if (last === undefined || now - last >= READVISE_MS) {
      this.#advised.set(kind, now);
      const fields: Record<string, unknown> = { kind };
      // A reply error's own words help the operator (the client never sees them).
      if (kind === 'error') fields.error = (error as Error).message.slice(0, 200);
      this.#log.warn(redisAdvice(kind, this.#url, this.#timeoutMs), fields);
    }
    return true;
  }

  /**
   * {@link redisFault}, knowing the outage: a command that timed out while the connection is
   * down timed out waiting for a reconnect — Redis is unreachable, not slow.
   */
  classify(error: unknown): RedisFaultKind | undefined {
    const kind = redisFault(error);
    return kind === 'timeout' && this.#down ? 'unreachable' : kind;
  }

  /** Redis was reported unreachable, and no connection has been ready since. */
  get down(): boolean {
    return this.#down;
  }

  /** A connection is ready (or Redis answered): ends the outage, if one was reported. */
  recovered(): void {
    this.#down = false;
    if (this.#since === undefined) return;
    this.#log.info(`Redis at ${this.#url} is reachable again`, { afterMs: Date.now() - this.#since });
    this.#since = undefined;
    this.#advised.clear();
  }
}

/** One fault log per Redis URL per process: the API and the worker of `npm start` share it. */
const logs = new Map<string, RedisFaultLog>();

export function redisFaultLog(log: Logger, url: string, timeoutMs: number): RedisFaultLog {
  let faults = logs.get(url);
  if (!faults) {
    faults = new RedisFaultLog(log, url, timeoutMs);
    logs.set(url, faults);
  }
  return faults;
}
