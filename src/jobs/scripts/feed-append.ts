/**
 * @module jobs/scripts/feed-append
 * Appends entries to an owner's feed (`jobs/feed`) and publishes each, with its entry id, on
 * the owner's channel, in order; the stream then expires with the jobs' retention when idle.
 *
 * Input:
 * - KEYS[1] the owner's feed stream
 * - ARGV[1] the publish command (`PUBLISH`, or `SPUBLISH` on Redis Cluster)
 * - ARGV[2] the owner's channel
 * - ARGV[3] entries kept (FEED_MAX_EVENTS; approximate trimming)
 * - ARGV[4] expiry (s)
 * - ARGV[5…] the entries
 *
 * Output:
 * - the id of the last entry appended
 */
import type { LuaScript } from '../script-runner.js';
import type { PublishCommand } from './record-prelude.js';

export interface FeedAppendInput {
  stream: string;
  channel: string;
  publishCommand: PublishCommand;
  maxEvents: number;
  expirySeconds: number;
  entries: string[];
}

export const feedAppendLua = `
local id
for i = 5, #ARGV do
  id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'm', ARGV[i])
  redis.call(ARGV[1], ARGV[2], id .. '\\n' .. ARGV[i])
end
redis.call('EXPIRE', KEYS[1], ARGV[4])
return id
`;

export const feedAppendScript: LuaScript<FeedAppendInput, string> = {
  name: 'jobcastFeedAppend',
  lua: feedAppendLua,
  call: ({ stream, channel, publishCommand, maxEvents, expirySeconds, entries }) => ({
    keys: [stream],
    args: [publishCommand, channel, maxEvents, expirySeconds, ...entries],
  }),
};
