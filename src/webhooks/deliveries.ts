/**
 * @module webhooks/deliveries
 * The record of a job's deliveries: one entry per delivery (status, attempts, last response
 * code, next attempt) for `GET /jobs/{id}/webhooks`, and counts by outcome on the job's record
 * for the job resource. Kept beside the record, in its hash slot, for as long as the record.
 *
 * Record fields written here (see `webhooks/view`): `whN` deliveries known, `whOk` delivered,
 * `whFail` given up or not sent, `whSup` progress superseded, `whCode` and `whAt` the latest
 * attempt's status code and time, `whOff` why the webhook was disabled (a 410 Gone), `whP` the
 * newest progress tick queued (an older progress delivery is superseded by it).
 */
import { iso } from '../jobs/events.js';
import { jobKeys } from '../jobs/keys.js';
import type { RedisClient } from '../redis.js';
import { webhookKeys } from './keys.js';
import { type DeliveryStatus, type DeliveryType, MAX_DELIVERIES_LISTED, type WebhookDeliveries } from './schemas.js';

/** A delivery's entry as stored (times in ms). */
export interface DeliveryEntry {
  type: DeliveryType;
  status: DeliveryStatus;
  attempts: number;
  createdAt: number;
  lastAttemptAt?: number;
  lastResponseCode?: number;
  lastError?: string;
  nextAttemptAt?: number;
  deliveredAt?: number;
}

/**
 * Notes a delivery, or the outcome of an attempt.
 * KEYS: [1] job record, [2] deliveries hash, [3] order set.
 * ARGV: [1] delivery id, [2] entry JSON, [3] created (ms), [4] 'new' (only if unknown) or
 * 'attempt', [5] the attempt's response code or '', [6] its time (ms) or '', [7] why the webhook
 * is disabled or '', [8] entries kept, [9] the progress tick of a progress delivery or ''.
 * Returns 1 when written; 0 for a job that is gone, a delivery already noted ('new'), or one
 * already settled (a late duplicate attempt changes nothing).
 */
const NOTE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[9] ~= '' and tonumber(ARGV[9]) > tonumber(redis.call('HGET', KEYS[1], 'whP') or '-1') then
  redis.call('HSET', KEYS[1], 'whP', ARGV[9])
end
local old = redis.call('HGET', KEYS[2], ARGV[1])
if old then
  if ARGV[4] == 'new' then return 0 end
  if cjson.decode(old).status ~= 'pending' then return 0 end
else
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
  redis.call('HINCRBY', KEYS[1], 'whN', 1)
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local status = cjson.decode(ARGV[2]).status
if status == 'delivered' then redis.call('HINCRBY', KEYS[1], 'whOk', 1)
elseif status == 'superseded' then redis.call('HINCRBY', KEYS[1], 'whSup', 1)
elseif status ~= 'pending' then redis.call('HINCRBY', KEYS[1], 'whFail', 1) end
if ARGV[6] ~= '' then
  redis.call('HSET', KEYS[1], 'whAt', ARGV[6])
  if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'whCode', ARGV[5]) else redis.call('HDEL', KEYS[1], 'whCode') end
end
if ARGV[7] ~= '' then redis.call('HSETNX', KEYS[1], 'whOff', ARGV[7]) end
local n = redis.call('ZCARD', KEYS[3])
local keep = tonumber(ARGV[8])
if n > keep then
  local gone = redis.call('ZRANGE', KEYS[3], 0, n - keep - 1)
  redis.call('ZREM', KEYS[3], unpack(gone))
  redis.call('HDEL', KEYS[2], unpack(gone))
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[2], ttl)
  redis.call('PEXPIRE', KEYS[3], ttl)
end
return 1
`;

/** Gives the delivery list the record's remaining lifetime (once the job finished). KEYS as NOTE. */
const FOLLOW_RECORD_TTL = `
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[2], ttl)
  redis.call('PEXPIRE', KEYS[3], ttl)
end
return ttl
`;

/** The listed deliveries, oldest first, and how many there were in all. KEYS as NOTE. */
const LIST = `
local ids = redis.call('ZRANGE', KEYS[3], 0, -1)
local entries = {}
if #ids > 0 then entries = redis.call('HMGET', KEYS[2], unpack(ids)) end
return {ids, entries, redis.call('HGET', KEYS[1], 'whN') or '0'}
`;

type Runner<T> = (keys: string[], args: (string | number)[]) => Promise<T>;

let scriptCounter = 0;

function defineScript<T>(redis: RedisClient, name: string, lua: string): Runner<T> {
  const command = `${name}${++scriptCounter}`;
  redis.defineCommand(command, { lua });
  const run = (redis as unknown as Record<string, (...args: unknown[]) => Promise<T>>)[command];
  if (!run) throw new Error(`ioredis did not define ${command}`);
  return (keys, args) => run.call(redis, keys.length, ...keys, ...args);
}

export class DeliveryLog {
  readonly #redis: RedisClient;
  readonly #prefix: string;
  readonly #note: Runner<number>;
  readonly #follow: Runner<number>;
  readonly #list: Runner<[string[], (string | null)[], string]>;

  constructor(redis: RedisClient, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#note = defineScript(redis, 'jobcastWebhookNote', NOTE);
    this.#follow = defineScript(redis, 'jobcastWebhookFollowTtl', FOLLOW_RECORD_TTL);
    this.#list = defineScript(redis, 'jobcastWebhookList', LIST);
  }

  #keys(jobId: string): string[] {
    const { deliveries, order } = webhookKeys(this.#prefix, jobId);
    return [jobKeys(this.#prefix, jobId).record, deliveries, order];
  }

  /** Lists a delivery just queued, unless it is known already; `tick`: a progress delivery's. */
  queued(jobId: string, id: string, entry: DeliveryEntry, tick?: number): Promise<number> {
    return this.#note(this.#keys(jobId), [
      id,
      JSON.stringify(entry),
      entry.createdAt,
      'new',
      '',
      '',
      '',
      MAX_DELIVERIES_LISTED,
      tick ?? '',
    ]);
  }

  /** Records the outcome of an attempt; `disable` marks the job's webhook disabled (410 Gone). */
  attempted(jobId: string, id: string, entry: DeliveryEntry, disable?: string): Promise<number> {
    return this.#note(this.#keys(jobId), [
      id,
      JSON.stringify(entry),
      entry.createdAt,
      'attempt',
      entry.lastResponseCode ?? '',
      entry.lastAttemptAt ?? '',
      disable ?? '',
      MAX_DELIVERIES_LISTED,
      '',
    ]);
  }

  /**
   * What decides whether a delivery is still to be sent: why the job's webhook was disabled
   * (a 410 Gone), and the newest progress tick queued for it.
   */
  async state(jobId: string): Promise<{ disabled: string | undefined; newestTick: number | undefined }> {
    const [disabled, tick] = await this.#redis.hmget(jobKeys(this.#prefix, jobId).record, 'whOff', 'whP');
    return { disabled: disabled ?? undefined, newestTick: tick ? Number(tick) : undefined };
  }

  /** The delivery list expires with the finished job's record. */
  followRecord(jobId: string): Promise<number> {
    return this.#follow(this.#keys(jobId), []);
  }

  async list(jobId: string): Promise<WebhookDeliveries> {
    const [ids, entries, known] = await this.#list(this.#keys(jobId), []);
    const items = ids.flatMap((id, i) => {
      const raw = entries[i];
      if (!raw) return [];
      const e = JSON.parse(raw) as DeliveryEntry;
      return [
        {
          id,
          type: e.type,
          status: e.status,
          attempts: e.attempts,
          createdAt: iso(e.createdAt),
          ...(e.lastAttemptAt === undefined ? {} : { lastAttemptAt: iso(e.lastAttemptAt) }),
          ...(e.lastResponseCode === undefined ? {} : { lastResponseCode: e.lastResponseCode }),
          ...(e.lastError === undefined ? {} : { lastError: e.lastError }),
          ...(e.nextAttemptAt === undefined ? {} : { nextAttemptAt: iso(e.nextAttemptAt) }),
          ...(e.deliveredAt === undefined ? {} : { deliveredAt: iso(e.deliveredAt) }),
        },
      ];
    });
    return { items, truncated: Number(known) > items.length };
  }
}
