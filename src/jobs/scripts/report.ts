/**
 * @module jobs/scripts/report
 * Records a state or progress change of a job and publishes it as a `progress` event.
 *
 * Input:
 * - KEYS[1], KEYS[2], ARGV[1], ARGV[2]: see `jobs/scripts/record-prelude`
 * - ARGV[3] state
 * - ARGV[4] progress
 * - ARGV[5] message ('' keeps the current one)
 * - ARGV[6] attempt
 * - ARGV[7] at (ms)
 * - ARGV[8] startedAt (ms, '' for none; kept only the first time)
 * - ARGV[9] rate ('' for none)
 * - ARGV[10] eta (ms, '' for none)
 * - ARGV[11] details JSON ('' keeps the current ones)
 * - ARGV[12] usual interval between reports (ms, '' for none)
 * - ARGV[13], ARGV[14] at and eta as ISO text, for the event's public JSON (see the prelude)
 *
 * Output (`ReportRefused`, `jobs/outcomes`):
 * - the event's seq (> 0), or `{seq, owner, feedMessage…}` (see the prelude)
 * - 0: no record, or the job finished: nothing recorded
 * - -1: cancellation was requested: nothing recorded; the worker then stops the handler, even
 *   if the cancel message itself never reached it
 * - -2: a report from an attempt older than the record's: a run whose lock was lost (its worker
 *   was cut off from Redis for longer than the lock) while BullMQ started the job again; it
 *   must stop
 */
import { isoOrNone } from '../events.js';
import type { JobKeys } from '../keys.js';
import type { Pace } from '../pace.js';
import type { JobState } from '../schemas.js';
import type { LuaScript } from '../script-runner.js';
import { type PublishCommand, type RecordScriptResult, recordCall, recordPrelude } from './record-prelude.js';

/** A state or progress change, as `report` records it. */
export interface ProgressChange {
  state: JobState;
  progress: number;
  message?: string | undefined;
  attempt: number;
  startedAt?: number;
  /** Details as JSON (`jobs/details`); undefined keeps the current ones. */
  details?: string | undefined;
  /** The pace the worker worked out; undefined: none (queued again, or just started). */
  pace?: Pace | undefined;
}

export interface ReportInput {
  keys: JobKeys;
  publishCommand: PublishCommand;
  change: ProgressChange;
  /** When the change happened (ms). */
  at: number;
}

export const reportLua = `${recordPrelude}
if redis.call('HEXISTS', KEYS[1], 'cancel') == 1 then return -1 end
if tonumber(ARGV[6]) < tonumber(redis.call('HGET', KEYS[1], 'attempt') or '0') then return -2 end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local set = {'pseq', seq, 'state', ARGV[3], 'progress', ARGV[4], 'attempt', ARGV[6], 'at', ARGV[7]}
local unset = {}
if ARGV[5] ~= '' then set[#set + 1] = 'message'; set[#set + 1] = ARGV[5] end
if ARGV[11] ~= '' then set[#set + 1] = 'details'; set[#set + 1] = ARGV[11] end
for i, field in ipairs({'rate', 'eta', 'ivl'}) do
  local value = ARGV[({9, 10, 12})[i]]
  if value == '' then unset[#unset + 1] = field else set[#set + 1] = field; set[#set + 1] = value end
end
redis.call('HSET', KEYS[1], unpack(set))
if #unset > 0 then redis.call('HDEL', KEYS[1], unpack(unset)) end
if ARGV[8] ~= '' then redis.call('HSETNX', KEYS[1], 'startedAt', ARGV[8]) end
publishProgress(seq, ARGV[13], ARGV[14])
return result(seq)
`;

export const reportScript: LuaScript<ReportInput, RecordScriptResult> = {
  name: 'jobcastReport',
  lua: reportLua,
  call({ keys, publishCommand, change, at }) {
    const { keys: recordKeys, args } = recordCall(keys, publishCommand);
    const { pace } = change;
    return {
      keys: recordKeys,
      args: [
        ...args,
        change.state,
        change.progress,
        change.message ?? '',
        change.attempt,
        at,
        change.startedAt ?? '',
        pace?.rate ?? '',
        pace?.etaMs ?? '',
        change.details ?? '',
        pace?.intervalMs ?? '',
        isoOrNone(at),
        isoOrNone(pace?.etaMs),
      ],
    };
  },
};
