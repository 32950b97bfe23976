/**
 * @module jobs/scripts/unfinished-page
 * A page of the unfinished set (`jobs/unfinished`) after a cursor, found by rank: the cursor's
 * job is put in for a moment if it left the set (it finished meanwhile) to learn its rank,
 * then taken out again, all in one script, so no one sees it. By rank, not by reading past the
 * jobs of the cursor's own score: an earlier version scored every job 0, and a backlog it left
 * would be read past from its start on every page.
 *
 * Input:
 * - KEYS[1] the unfinished set
 * - ARGV[1] the cursor's score, or '' to start from the first; ARGV[2] its id; ARGV[3] the page size
 *
 * Output: the page as `ZRANGE … WITHSCORES` gives it (id, score, id, score, …).
 */
import type { LuaScript } from '../script-runner.js';

export interface UnfinishedPageInput {
  key: string;
  after: { score: string; id: string } | undefined;
  count: number;
}

export const unfinishedPageLua = `
local start = 0
if ARGV[1] ~= '' then
  local added = redis.call('ZADD', KEYS[1], 'NX', ARGV[1], ARGV[2])
  start = redis.call('ZRANK', KEYS[1], ARGV[2]) + 1 - added
  if added == 1 then redis.call('ZREM', KEYS[1], ARGV[2]) end
end
return redis.call('ZRANGE', KEYS[1], start, start + tonumber(ARGV[3]) - 1, 'WITHSCORES')
`;

export const unfinishedPageScript: LuaScript<UnfinishedPageInput, string[]> = {
  name: 'jobcastUnfinishedPage',
  lua: unfinishedPageLua,
  call: ({ key, after, count }) => ({ keys: [key], args: [after?.score ?? '', after?.id ?? '', count] }),
};
