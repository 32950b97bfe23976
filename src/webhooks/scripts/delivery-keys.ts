/**
 * @module webhooks/scripts/delivery-keys
 * The keys every script of a job's delivery list takes, in one order (their headers' KEYS):
 * the job's record, where the counts by outcome live, and the list itself (`webhooks/keys`).
 *
 * - KEYS[1] the job's record (hash)
 * - KEYS[2] the deliveries (hash: delivery id → entry JSON)
 * - KEYS[3] their order (sorted set: delivery id → created, ms)
 */
import type { WebhookKeys } from '../keys.js';

/** A job's delivery list and its record. */
export interface DeliveryListKeys extends WebhookKeys {
  record: string;
}

/** KEYS[1..3] of a delivery-list script. */
export const deliveryListKeys = ({ record, deliveries, order }: DeliveryListKeys): string[] => [
  record,
  deliveries,
  order,
];
