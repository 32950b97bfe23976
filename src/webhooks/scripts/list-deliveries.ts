/**
 * @module webhooks/scripts/list-deliveries
 * Reads a job's delivery list in one step: the entries kept, oldest first, and how many
 * deliveries the job had in all (older ones are dropped past MAX_DELIVERIES_LISTED).
 *
 * Input:
 * - KEYS[1..3]: see `webhooks/scripts/delivery-keys`
 *
 * Output:
 * - `{ids, entries, known}`: the delivery ids in order, their entry JSON (nil where one is
 *   missing), and the record's `whN` ('0' when unset)
 */
import type { LuaScript } from '../../jobs/script-runner.js';
import { type DeliveryListKeys, deliveryListKeys } from './delivery-keys.js';

export const listDeliveriesLua = `
local ids = redis.call('ZRANGE', KEYS[3], 0, -1)
local entries = {}
if #ids > 0 then entries = redis.call('HMGET', KEYS[2], unpack(ids)) end
return {ids, entries, redis.call('HGET', KEYS[1], 'whN') or '0'}
`;

export const listDeliveriesScript: LuaScript<DeliveryListKeys, [string[], (string | null)[], string]> = {
  name: 'jobcastWebhookList',
  lua: listDeliveriesLua,
  call: (keys) => ({ keys: deliveryListKeys(keys), args: [] }),
};
