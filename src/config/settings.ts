/**
 * @module config/settings
 * Every setting jobcast reads from its environment: its name (with its unit), its default, its
 * bounds, and why it exists. The README's configuration table lists the same names (a test
 * checks it). Only `config` parses an environment with this schema.
 */
import { z } from 'zod';
import { parseTrustProxy } from './trust-proxy.js';

/**
 * A whole number in decimal digits: `' '`, `0x2` and `1e2` are refused (Number() reads them as 0,
 * 2 and 100, so a blank limit turned the limit off). Numbers pass as they are (tests, defaults).
 */
const int = (min: number, max: number) =>
  z.preprocess(
    (value) => (typeof value === 'number' ? String(value) : value),
    z
      .string()
      .regex(/^\d+$/, 'expected a whole number in decimal digits')
      .transform(Number)
      .pipe(z.number().int().min(min).max(max)),
  );

/** An entry of WEBHOOK_ALLOWED_HOSTS: a host name, `.domain`, an address or a CIDR. */
const ALLOWED_HOST = /^(\.?[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*|[0-9A-Fa-f:.]+(\/\d{1,3})?)$/;
/** One or two Standard Webhooks secrets (`whsec_` + base64 of 24–64 bytes), comma-separated. */
const WEBHOOK_SECRETS = /^whsec_[A-Za-z0-9+/]{32,88}={0,2}(,whsec_[A-Za-z0-9+/]{32,88}={0,2})?$/;

/** Every setting, its default and its bounds. Units are in the names. */
export const ConfigSchema = z.object({
  PORT: int(0, 65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  /**
   * API processes serving PORT together (`node:cluster`): a primary runs this many, restarts one
   * that dies, and stops them all on one signal. 1 = a single process and no primary.
   */
  API_PROCESSES: int(1, 256).default(1),
  /** Unset: `npm start` runs and manages a local redis-server itself. */
  REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
  /** `1`: REDIS_URL names one node of a Redis Cluster (keys are hash-tagged, events use sharded pub/sub). */
  REDIS_CLUSTER: z
    .enum(['0', '1', 'true', 'false'])
    .default('0')
    .transform((v) => v === '1' || v === 'true'),
  /**
   * Comma-separated `host:port` of Redis Sentinels: the master (REDIS_SENTINEL_MASTER) is found
   * through them and followed on failover; REDIS_URL then only supplies credentials and TLS.
   */
  REDIS_SENTINELS: z
    .string()
    .regex(/^[^\s,:]+:\d+(,[^\s,:]+:\d+)*$/, 'use host:port,host:port')
    .optional(),
  REDIS_SENTINEL_MASTER: z.string().min(1).default('mymaster'),
  /**
   * The longest an API request waits for one Redis command: past it (a frozen or overloaded
   * Redis) the request is a 503, and /readyz says so.
   */
  REDIS_COMMAND_TIMEOUT_MS: int(50, 60_000).default(1_000),
  /** Port of the managed local redis-server (only when REDIS_URL is unset). */
  LOCAL_REDIS_PORT: int(1, 65535).default(6379),
  /** Data directory of the managed local redis-server (append-only file lives here). */
  LOCAL_REDIS_DIR: z.string().min(1).default('.data/redis'),
  /** Prefix of every key jobcast writes; BullMQ's keys get it as a hash tag (`{jobcast}`). */
  KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "_", "." and "-" only')
    .default('jobcast'),
  QUEUE_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "_", "." and "-" only')
    .default('jobs'),
  WORKER_CONCURRENCY: int(1, 1000).default(10),
  /**
   * BullMQ stall detection: a job whose worker stops renewing its lock (renewed every half
   * lock) runs again at the first stalled check after the lock ran out: at most
   * WORKER_LOCK_MS + WORKER_STALLED_INTERVAL_MS after its worker died (12 s by default).
   */
  WORKER_LOCK_MS: int(1000, 3_600_000).default(8_000),
  WORKER_STALLED_INTERVAL_MS: int(1000, 3_600_000).default(4_000),
  /** Stalls (lost locks) a job survives before it fails; a Redis outage longer than the lock counts as one. */
  WORKER_MAX_STALLED_COUNT: int(0, 100).default(2),
  /** A comment line is written to a stream that had nothing to say for this long. */
  SSE_HEARTBEAT_MS: int(100, 3_600_000).default(15_000),
  /** Sent as `retry:` so EventSource reconnects this quickly after a drop. */
  SSE_RETRY_MS: int(0, 3_600_000).default(2_000),
  /** Undelivered events one stream may hold (progress is conflated, so these are logs + done). */
  SSE_MAX_PENDING_EVENTS: int(10, 1_000_000).default(2_000),
  /** A client whose socket stays full this long is disconnected; it resumes on reconnect. */
  SSE_STUCK_TIMEOUT_MS: int(100, 3_600_000).default(30_000),
  /**
   * A running job that has reported nothing for longer than 5 × its usual interval between
   * reports, and at least this long, is shown as `stalled` (a signal only: nothing is done to it).
   */
  STALL_AFTER_MS: int(100, 86_400_000).default(30_000),
  /**
   * Every this often, each API process checks the running jobs it streams for a stall and reads
   * the queue positions of the queued ones (one Redis call, only while it streams queued jobs).
   */
  PROGRESS_TICK_MS: int(50, 60_000).default(1_000),
  /** Changes kept per API key for resuming its feed (`GET /events/feed`). */
  FEED_MAX_EVENTS: int(100, 1_000_000).default(10_000),
  /**
   * Every this often one API process (whichever takes the lock) compares a page of unfinished
   * jobs with BullMQ and finishes those BullMQ finished (or lost): after any outage, every
   * accepted job reaches a terminal state, watched or not.
   */
  RECONCILE_INTERVAL_MS: int(100, 3_600_000).default(5_000),
  /** Log lines kept per job for replay and `GET /jobs/{id}/logs`. */
  JOB_LOG_MAX_LINES: int(1, 100_000).default(1_000),
  /** Finished jobs (state, result, logs) are kept this long, then removed. */
  JOB_RETENTION_SECONDS: int(1, 365 * 86_400).default(86_400),
  /**
   * An ES module whose default export is an array of job types (`jobs/job-type`), added to the
   * built-in ones; the API and the workers load the same module. Relative to the working directory.
   */
  JOB_TYPES: z.string().min(1).optional(),
  /** How long an Idempotency-Key is remembered (the IETF draft suggests 24 h). */
  IDEMPOTENCY_KEY_TTL_SECONDS: int(1, 30 * 86_400).default(86_400),
  MAX_BODY_BYTES: int(64, 64 * 1024 * 1024).default(1024 * 1024),
  /** How long shutdown waits for running jobs before handing them back. */
  SHUTDOWN_TIMEOUT_MS: int(0, 600_000).default(10_000),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  /** json: one object per line; pretty: human-readable; auto: pretty on a terminal. */
  LOG_FORMAT: z.enum(['json', 'pretty', 'auto']).default('auto'),
  /** Port of a worker process's /metrics (start:worker); 0 = none. */
  WORKER_METRICS_PORT: int(0, 65535).default(9464),
  /** Comma-separated API keys; when set (or API_KEYS_FILE), every job and event endpoint needs one. */
  API_KEYS: z.string().optional(),
  /** A file with one API key per line (# comments allowed). */
  API_KEYS_FILE: z.string().min(1).optional(),
  /** Signs stream tokens; shared by all replicas. Default: derived from the API keys. */
  STREAM_TOKEN_SECRET: z.string().min(32, 'use at least 32 characters').optional(),
  STREAM_TOKEN_TTL_SECONDS: int(10, 7 * 86_400).default(900),
  /** Turns on and guards the operator view at /admin/queues (HTTP Basic auth). Unset: the view is off. */
  ADMIN_PASSWORD: z.string().min(12, 'use at least 12 characters').optional(),
  /** Comma-separated origins allowed to call the API from browsers (`*` = any, without credentials). */
  CORS_ORIGINS: z.string().default(''),
  /** Jobs submitted per client (API key, or address when open) per minute, batches counted by job; 0 = unlimited. */
  RATE_LIMIT_PER_MINUTE: int(0, 1_000_000).default(600),
  /** Concurrent event streams per client, across all replicas; 0 = unlimited. */
  MAX_STREAMS_PER_CLIENT: int(0, 1_000_000).default(200),
  /** Reads (GET of a job, its log, or the list) per client per minute, across all replicas; 0 = unlimited. */
  READ_RATE_LIMIT_PER_MINUTE: int(0, 1_000_000).default(1_200),
  /**
   * The proxies in front of the API whose forwarded client address is believed: a number of
   * hops, or their addresses and CIDR ranges. Unset: none (the socket's peer is the client).
   */
  TRUST_PROXY: z
    .string()
    .optional()
    .transform((value, ctx) => {
      const parsed = parseTrustProxy(value);
      if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
      return typeof parsed === 'string' ? undefined : parsed;
    }),
  /** The header the trusted proxies record the client address in. */
  TRUST_PROXY_HEADER: z.enum(['x-forwarded-for', 'forwarded']).default('x-forwarded-for'),
  /** A client must send its request headers within this time (slow-header attacks). */
  HTTP_HEADERS_TIMEOUT_MS: int(1000, 600_000).default(10_000),
  /** PEM files; when both are set the API serves HTTPS with HTTP/2 (and HTTP/1.1 fallback). */
  TLS_CERT: z.string().min(1).optional(),
  TLS_KEY: z.string().min(1).optional(),

  // ---- Webhooks (src/webhooks, workers/webhooks.ts) ----
  /**
   * Signs webhook deliveries (Standard Webhooks): `whsec_` + base64 of 24–64 random bytes. During a
   * rotation give two, comma-separated, the new one first: every delivery is signed with both.
   * Unset: submissions with a webhook are refused.
   */
  WEBHOOK_SECRET: z
    .string()
    .regex(WEBHOOK_SECRETS, 'use whsec_<base64 of 24–64 bytes>, or two of them separated by a comma')
    .optional(),
  /** At most one progress delivery per job per this long (the latest state wins); `done` is never throttled. */
  WEBHOOK_PROGRESS_MIN_MS: int(50, 3_600_000).default(1_000),
  /** Attempts of one delivery before it is given up. */
  WEBHOOK_MAX_ATTEMPTS: int(1, 100).default(20),
  /** The first retry's delay; it doubles per attempt up to one hour, each shortened by up to 20 % (jitter). */
  WEBHOOK_RETRY_BASE_MS: int(10, 3_600_000).default(5_000),
  /** One attempt (connect, answer, a few KB of body) must finish within this. */
  WEBHOOK_TIMEOUT_MS: int(100, 120_000).default(10_000),
  /** `1`: webhooks may use http:// and private, loopback or link-local addresses (tests, internal networks). */
  WEBHOOK_ALLOW_PRIVATE: z
    .enum(['0', '1', 'true', 'false'])
    .default('0')
    .transform((v) => v === '1' || v === 'true'),
  /** Comma-separated hosts (`hooks.internal`, `.internal` for a domain) and CIDRs (`10.1.0.0/16`) allowed although private. */
  WEBHOOK_ALLOWED_HOSTS: z
    .string()
    .default('')
    .refine(
      (list) => list.split(',').every((entry) => entry.trim() === '' || ALLOWED_HOST.test(entry.trim())),
      'use host names (hooks.internal, .internal for a whole domain), addresses or CIDRs (10.1.0.0/16), comma-separated',
    ),
  /** Deliveries one worker process sends at once. */
  WEBHOOK_CONCURRENCY: int(1, 1000).default(50),
  /** How often workers look for finished jobs whose deliveries a crash kept from being queued. */
  WEBHOOK_SWEEP_MS: int(100, 3_600_000).default(30_000),
  /** A JSON file of per-key default webhooks: `{"<api key>" | "*": {"url", "events"?}}`. */
  WEBHOOK_DEFAULTS_FILE: z.string().min(1).optional(),
});
