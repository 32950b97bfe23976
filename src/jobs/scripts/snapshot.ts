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
 * - the JSON `[[HGETALL as a flat field/value list], [LRANGE of the log]]`; '' for no record.
 *   One string rather than a reply of ~30 elements and the log lines: ioredis decodes each
 *   element of a reply in JavaScript, and `JSON.parse` reads the one string several times
 *   faster (a stream is opened per client; docs/performance.md, "many jobs, 1:1"). cjson writes
 *   an empty list as `{}`: the reader takes anything but a list as none.
 */
import type { JobKeys } from '../keys.js';
import type { LuaScript } from '../script-runner.js';

export const snapshotLua = `
local record = redis.call('HGETALL', KEYS[1])
if #record == 0 then return '' end
return cjson.encode({record, redis.call('LRANGE', KEYS[2], 0, -1)})
`;

export const snapshotScript: LuaScript<JobKeys, string> = {
  name: 'jobcastSnapshot',
  lua: snapshotLua,
  call: (keys) => ({ keys: [keys.record, keys.log], args: [] }),
};
