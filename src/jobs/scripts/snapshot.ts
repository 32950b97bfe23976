/**
 * @module jobs/scripts/snapshot
 * Reads a record and its kept log lines in one atomic step (what a stream needs on connect).
 * A script rather than MULTI: ioredis builds a pipeline object per MULTI that copies every
 * defined command onto itself (~17 KB per call, measured), and a stream is opened per client.
 *
 * Input:
 * - KEYS[1] the record (hash)
 * - KEYS[2] the log (list)
 *
 * Output:
 * - `{HGETALL as a flat field/value list, LRANGE of the log}` (both empty for no record)
 */
import type { JobKeys } from '../keys.js';
import type { LuaScript } from '../script-runner.js';

export const snapshotLua = `
return {redis.call('HGETALL', KEYS[1]), redis.call('LRANGE', KEYS[2], 0, -1)}
`;

export const snapshotScript: LuaScript<JobKeys, [string[], string[]]> = {
  name: 'jobcastSnapshot',
  lua: snapshotLua,
  call: (keys) => ({ keys: [keys.record, keys.log], args: [] }),
};
