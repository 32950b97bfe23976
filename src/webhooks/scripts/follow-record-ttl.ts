/**
 * @module webhooks/scripts/follow-record-ttl
 * Gives a job's delivery list the remaining lifetime of its record, once the job finished (its
 * record then expires with JOB_RETENTION_SECONDS).
 *
 * Input:
 * - KEYS[1..3]: see `webhooks/scripts/delivery-keys`
 *
 * Output:
 * - the record's PTTL: its remaining lifetime in ms (the list now has the same), -1 for a
 *   record without one (nothing changed), -2 for no record
 */
import type { LuaScript } from '../../jobs/script-runner.js';
import { type DeliveryListKeys, deliveryListKeys } from './delivery-keys.js';

export const followRecordTtlLua = `
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[2], ttl)
  redis.call('PEXPIRE', KEYS[3], ttl)
end
return ttl
`;

export const followRecordTtlScript: LuaScript<DeliveryListKeys, number> = {
  name: 'jobcastWebhookFollowTtl',
  lua: followRecordTtlLua,
  call: (keys) => ({ keys: deliveryListKeys(keys), args: [] }),
};
