/**
 * @module jobs/capacity
 * What the queue can get through, for estimating when a queued job starts
 * (`jobs/queue-positions`): how many jobs the live workers run at once, and how long jobs of a
 * type took lately.
 *
 * - Each worker process announces itself every {@link ANNOUNCE_EVERY_MS} in a sorted set
 *   (member `<worker id>:<concurrency>`, score = when the announcement lapses): one ZADD per
 *   worker per 5 s. A worker that stops announcing (killed) drops out after 3 periods.
 * - Each completed job's run time is pushed onto a short list per type (the last
 *   {@link RUN_TIMES_KEPT}): two commands per completed job.
 * - API processes read both only while they have queued jobs to estimate, at most once per
 *   {@link CAPACITY_CACHE_MS}.
 */
import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../redis.js';

export const ANNOUNCE_EVERY_MS = 5_000;
/** An announcement lapses after this many periods without a new one. */
const ANNOUNCEMENT_LIFETIME = 3;
/** Run times kept per job type: the mean of these is "the recent run time". */
export const RUN_TIMES_KEPT = 20;
/** How long an API process trusts what it read. */
export const CAPACITY_CACHE_MS = 5_000;

const workersKey = (prefix: string) => `${prefix}:workers`;
const runTimesKey = (prefix: string, type: string) => `${prefix}:runtimes:${type}`;

/** A worker process's announcement of its slots; `stop()` withdraws it. */
export class WorkerAnnouncement {
  readonly #member: string;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    concurrency: number,
  ) {
    this.#member = `${randomUUID()}:${concurrency}`;
  }

  start(): void {
    if (this.#stopped) return;
    const announce = () => {
      const lapses = Date.now() + ANNOUNCEMENT_LIFETIME * ANNOUNCE_EVERY_MS;
      this.redis.zadd(workersKey(this.prefix), lapses, this.#member).catch(() => {});
    };
    announce();
    this.#timer = setInterval(announce, ANNOUNCE_EVERY_MS);
    this.#timer.unref();
  }

  /** Withdraws the announcement; never waits long (a worker stops whatever Redis does). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    // Without Redis the announcement simply lapses.
    if (this.redis.status !== 'ready') return;
    const withdrawn = this.redis.zrem(workersKey(this.prefix), this.#member).catch(() => {});
    await Promise.race([withdrawn, new Promise((resolve) => setTimeout(resolve, 1_000).unref())]);
  }
}

/** Records how long a completed job of `type` ran (ms). */
export function recordRunTime(redis: RedisClient, prefix: string, type: string, ms: number): Promise<unknown> {
  const key = runTimesKey(prefix, type);
  return Promise.all([redis.lpush(key, Math.round(ms)), redis.ltrim(key, 0, RUN_TIMES_KEPT - 1)]);
}

export interface Capacity {
  /** Jobs the live workers run at once (0: no worker is running). */
  slots: number;
  /** Mean recent run time (ms) per job type asked for; absent when none ran lately. */
  runTimeMs: Map<string, number>;
}

/** The API side: reads the capacity, cached for CAPACITY_CACHE_MS. */
export class CapacityReader {
  #slots: { value: number; readAt: number } | undefined;
  readonly #runTimes = new Map<string, { value: number; readAt: number }>();

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  async read(types: Iterable<string>, now = Date.now()): Promise<Capacity> {
    const fresh = (entry: { readAt: number } | undefined) =>
      entry !== undefined && now - entry.readAt < CAPACITY_CACHE_MS;
    const stale = [...new Set(types)].filter((type) => !fresh(this.#runTimes.get(type)));
    await Promise.all([
      // No worker yet: asked again next time, so the first one counts at once.
      fresh(this.#slots) && this.#slots?.value ? undefined : this.#readSlots(now),
      ...stale.map(async (type) => {
        const times = (await this.redis.lrange(runTimesKey(this.prefix, type), 0, -1))
          .map(Number)
          .filter(Number.isFinite);
        // None yet: asked again next time (one short LRANGE), so the first run counts at once.
        if (times.length > 0)
          this.#runTimes.set(type, { value: times.reduce((a, b) => a + b, 0) / times.length, readAt: now });
      }),
    ]);
    const runTimeMs = new Map<string, number>();
    for (const [type, { value }] of this.#runTimes) runTimeMs.set(type, value);
    return { slots: this.#slots?.value ?? 0, runTimeMs };
  }

  async #readSlots(now: number): Promise<void> {
    const key = workersKey(this.prefix);
    const members = await this.redis.zrangebyscore(key, now, '+inf');
    const value = members.reduce((sum, member) => sum + (Number(member.slice(member.lastIndexOf(':') + 1)) || 0), 0);
    this.#slots = { value, readAt: now };
    // Lapsed announcements (workers killed) go; cheap, and at most once per cache period.
    this.redis.zremrangebyscore(key, '-inf', `(${now}`).catch(() => {});
  }
}
