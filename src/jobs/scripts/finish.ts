/**
 * @module jobs/scripts/finish
 * The end of a job: a final `progress` event, then `done`; the record and log then expire
 * after the retention time.
 *
 * Input:
 * - KEYS[1], KEYS[2], ARGV[1], ARGV[2]: see `jobs/scripts/record-prelude`
 * - ARGV[3] state (the terminal status)
 * - ARGV[4] progress ('' keeps the current one)
 * - ARGV[5] message ('' keeps the current one)
 * - ARGV[6] at (ms)
 * - ARGV[7] the public done event JSON
 * - ARGV[8] retention (s)
 * - ARGV[9] at as ISO text, for the progress event's public JSON (see the prelude)
 *
 * Output:
 * - the seq of `done` (> 0), or `{seq, owner, feedMessage…}` with both events (see the prelude)
 * - 0: no record, or the job already finished (the first finish wins)
 */
import { isoOrNone } from '../events.js';
import type { JobKeys } from '../keys.js';
import type { TerminalStatus } from '../schemas.js';
import type { LuaScript } from '../script-runner.js';
import { type PublishCommand, type RecordScriptResult, recordCall, recordPrelude } from './record-prelude.js';

export interface FinishInput {
  keys: JobKeys;
  publishCommand: PublishCommand;
  status: TerminalStatus;
  message?: string | undefined;
  at: number;
  /** The public done event's JSON (`jobs/events` doneData). */
  done: string;
  retentionSeconds: number;
}

export const finishLua = `${recordPrelude}
local pseq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local dseq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('HSET', KEYS[1], 'pseq', pseq, 'state', ARGV[3], 'at', ARGV[6], 'finishedAt', ARGV[6], 'dseq', dseq, 'done', ARGV[7])
redis.call('HDEL', KEYS[1], 'rate', 'eta', 'ivl')
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'progress', ARGV[4]) end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'message', ARGV[5]) end
redis.call('EXPIRE', KEYS[1], ARGV[8])
redis.call('EXPIRE', KEYS[2], ARGV[8])
publishProgress(pseq, ARGV[9], '')
publish(dseq, 'done', ARGV[7])
return result(dseq)
`;

export const finishScript: LuaScript<FinishInput, RecordScriptResult> = {
  name: 'jobcastFinish',
  lua: finishLua,
  call({ keys, publishCommand, status, message, at, done, retentionSeconds }) {
    const { keys: recordKeys, args } = recordCall(keys, publishCommand);
    // A completed job ends at 100%; others keep the progress they reached.
    const progress = status === 'completed' ? 100 : '';
    return {
      keys: recordKeys,
      args: [...args, status, progress, message ?? '', at, done, retentionSeconds, isoOrNone(at)],
    };
  },
};
