/**
 * @module jobs/scripts/log
 * Appends a log line to a job and publishes it as a `log` event. The seq of the newest line
 * dropped by the cap is remembered as `ltrim`, so a resume from before it can say so.
 *
 * Input:
 * - KEYS[1], KEYS[2], ARGV[1], ARGV[2]: see `jobs/scripts/record-prelude`
 * - ARGV[3] the public log event JSON
 * - ARGV[4] lines kept (JOB_LOG_MAX_LINES)
 *
 * Output:
 * - the line's seq (> 0); log lines are not part of the feed, so never the feed form
 * - 0: no record, or the job finished: nothing recorded
 */
import type { JobKeys } from '../keys.js';
import type { LuaScript } from '../script-runner.js';
import { type PublishCommand, recordCall, recordPrelude } from './record-prelude.js';

export interface LogInput {
  keys: JobKeys;
  publishCommand: PublishCommand;
  /** The public log event's JSON (`jobs/events` logData). */
  data: string;
  maxLines: number;
}

export const logLua = `${recordPrelude}
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('RPUSH', KEYS[2], seq .. '\\n' .. ARGV[3])
while redis.call('LLEN', KEYS[2]) > tonumber(ARGV[4]) do
  local dropped = redis.call('LPOP', KEYS[2])
  redis.call('HSET', KEYS[1], 'ltrim', string.match(dropped, '^%d+'))
end
redis.call(ARGV[1], ARGV[2], seq .. '\\nlog\\n' .. ARGV[3])
return seq
`;

export const logScript: LuaScript<LogInput, number> = {
  name: 'jobcastLog',
  lua: logLua,
  call({ keys, publishCommand, data, maxLines }) {
    const { keys: recordKeys, args } = recordCall(keys, publishCommand);
    return { keys: recordKeys, args: [...args, data, maxLines] };
  },
};
