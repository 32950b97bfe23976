/**
 * @module webhooks/scripts/note-delivery
 * Notes a delivery just queued, or the outcome of one of its attempts, in the job's delivery
 * list, and keeps the record's counts by outcome (`whN`, `whOk`, `whFail`, `whSup`), the latest
 * attempt (`whCode`, `whAt`), why the webhook was disabled (`whOff`) and the newest progress
 * tick queued (`whP`) in step (see `webhooks/deliveries`). Keeps the newest entries only, and
 * gives the list the record's remaining lifetime.
 *
 * Input:
 * - KEYS[1..3]: see `webhooks/scripts/delivery-keys`
 * - ARGV[1] the delivery id
 * - ARGV[2] its entry JSON (`status` read here)
 * - ARGV[3] when it was created (ms; its order)
 * - ARGV[4] `new` (noted only if unknown), `attempt`, or `unsent` (settled without an attempt:
 *   the entry keeps the latest attempt's time, response code and error, if there was one)
 * - ARGV[5] the attempt's response code, or ''
 * - ARGV[6] the attempt's time (ms), or ''
 * - ARGV[7] why the job's webhook is disabled (a 410 Gone), or ''
 * - ARGV[8] entries kept
 * - ARGV[9] a progress delivery's tick, or ''
 *
 * Output ({@link DeliveryNote}):
 * - 1: written
 * - 0: nothing written: the job is gone, the delivery was noted already (`new`), or it is
 *   settled already (a late duplicate attempt changes nothing)
 */
import type { LuaScript } from '../../jobs/script-runner.js';
import { type DeliveryListKeys, deliveryListKeys } from './delivery-keys.js';

/** What the `note-delivery` script answers. */
export const DeliveryNote = {
  /** Job gone, delivery known already (`new`), or settled already: nothing written. */
  UNCHANGED: 0,
  WRITTEN: 1,
} as const;

export interface NoteDeliveryInput {
  keys: DeliveryListKeys;
  id: string;
  /** The entry as stored (`webhooks/deliveries` DeliveryEntry), as JSON. */
  entry: string;
  createdAt: number;
  /**
   * `new`: a delivery just queued; `attempt`: the outcome of an attempt; `unsent`: settled
   * without one (superseded, or the webhook disabled), keeping what the last attempt told.
   */
  note: 'new' | 'attempt' | 'unsent';
  responseCode?: number | undefined;
  attemptAt?: number | undefined;
  disable?: string | undefined;
  keep: number;
  tick?: number | undefined;
}

export const noteDeliveryLua = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[9] ~= '' and tonumber(ARGV[9]) > tonumber(redis.call('HGET', KEYS[1], 'whP') or '-1') then
  redis.call('HSET', KEYS[1], 'whP', ARGV[9])
end
local old = redis.call('HGET', KEYS[2], ARGV[1])
local entry = ARGV[2]
if old then
  if ARGV[4] == 'new' then return 0 end
  old = cjson.decode(old)
  if old.status ~= 'pending' then return 0 end
  if ARGV[4] == 'unsent' and old.lastAttemptAt then
    local e = cjson.decode(entry)
    e.lastAttemptAt = old.lastAttemptAt
    e.lastResponseCode = old.lastResponseCode
    e.lastError = old.lastError
    entry = cjson.encode(e)
  end
else
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
  redis.call('HINCRBY', KEYS[1], 'whN', 1)
end
redis.call('HSET', KEYS[2], ARGV[1], entry)
local status = cjson.decode(entry).status
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

export const noteDeliveryScript: LuaScript<NoteDeliveryInput, number> = {
  name: 'jobcastWebhookNote',
  lua: noteDeliveryLua,
  call: (input) => ({
    keys: deliveryListKeys(input.keys),
    args: [
      input.id,
      input.entry,
      input.createdAt,
      input.note,
      input.responseCode ?? '',
      input.attemptAt ?? '',
      input.disable ?? '',
      input.keep,
      input.tick ?? '',
    ],
  }),
};
