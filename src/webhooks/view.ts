/**
 * @module webhooks/view
 * A job's webhook as its record keeps it (field `webhook`, JSON `{url, events}`, written on
 * submit) and as the job resource shows it, with the delivery counts `webhooks/deliveries`
 * keeps beside it.
 */
import { iso } from '../jobs/events.js';
import type { Webhook, WebhookEventName } from './schemas.js';

/** What a job's record keeps of its webhook. */
export interface StoredWebhook {
  url: string;
  events: WebhookEventName[];
}

/** The record fields of a webhook (see `webhooks/deliveries` for the counters). */
export interface WebhookRecordFields {
  webhook?: string;
  whN?: string;
  whOk?: string;
  whFail?: string;
  whSup?: string;
  whP?: string;
  whCode?: string;
  whAt?: string;
  whOff?: string;
}

export const storeWebhook = (webhook: StoredWebhook): string =>
  JSON.stringify({ url: webhook.url, events: webhook.events });

/** The webhook of a record's `webhook` field; undefined for anything unreadable. */
export function parseStoredWebhook(stored: string): StoredWebhook | undefined {
  try {
    const parsed = JSON.parse(stored) as Partial<StoredWebhook>;
    if (typeof parsed.url !== 'string' || !Array.isArray(parsed.events)) return undefined;
    return { url: parsed.url, events: parsed.events };
  } catch {
    return undefined;
  }
}

/** A URL fit to show: a password in it is masked (the rest is what the client sent). */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.password) return url;
    parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

/** The `webhook` of the job resource, or undefined for a job without one. */
export function webhookView(record: WebhookRecordFields): Webhook | undefined {
  const stored = record.webhook === undefined ? undefined : parseStoredWebhook(record.webhook);
  if (!stored) return undefined;
  const known = Number(record.whN ?? 0);
  const delivered = Number(record.whOk ?? 0);
  const failed = Number(record.whFail ?? 0);
  const superseded = Number(record.whSup ?? 0);
  const view: Webhook = {
    url: displayUrl(stored.url),
    events: stored.events,
    status: record.whOff ? 'disabled' : 'active',
    deliveries: { pending: Math.max(0, known - delivered - failed - superseded), delivered, failed, superseded },
  };
  if (record.whOff) view.disabledReason = record.whOff;
  if (record.whCode) view.lastResponseCode = Number(record.whCode);
  if (record.whAt) view.lastAttemptAt = iso(record.whAt);
  return view;
}
