/**
 * @module webhooks/defaults
 * Per-key default webhooks (`WEBHOOK_DEFAULTS_FILE`): a JSON object from API key (or `*`, for
 * every caller without an entry of its own, the open service included) to a webhook, used for
 * each job submitted without a `webhook` field. Keys are turned into owner ids at once and
 * never kept, like API keys themselves.
 *
 * @example
 * // webhooks.json
 * { "*": { "url": "https://hooks.example.com/jobcast" },
 *   "key-of-team-a": { "url": "https://a.example.com/hook", "events": ["progress", "done"] } }
 */
import { readFileSync } from 'node:fs';
import { ownerId } from '../auth/api-keys.js';
import { ConfigError } from '../config.js';
import { parseJsonText } from '../json-text.js';
import { WebhookRequest } from './schemas.js';
import { type UrlPolicy, WebhookUrlRefused } from './url-policy.js';
import type { StoredWebhook } from './view.js';

export interface WebhookDefaults {
  /** The default webhook of an owner (undefined when the service runs open), if any. */
  forOwner(owner: string | undefined): StoredWebhook | undefined;
}

export const noWebhookDefaults: WebhookDefaults = { forOwner: () => undefined };

/**
 * Reads and checks the defaults file, each URL against `policy` (what can be told without the
 * network): a refused default would otherwise make every job of its key a 422 about a webhook
 * its client never sent. Throws a ConfigError that says what is wrong with it.
 */
export function loadWebhookDefaults(file: string | undefined, policy: Pick<UrlPolicy, 'parse'>): WebhookDefaults {
  if (!file) return noWebhookDefaults;
  let parsed: unknown;
  try {
    // A byte order mark (some Windows editors write one) is read, as in every JSON jobcast reads.
    parsed = parseJsonText(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError([`WEBHOOK_DEFAULTS_FILE=${JSON.stringify(file)}: ${(error as Error).message}`]);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError([
      `WEBHOOK_DEFAULTS_FILE=${JSON.stringify(file)}: expected an object of API key → {"url", "events"?}`,
    ]);
  }
  const byOwner = new Map<string, StoredWebhook>();
  let fallback: StoredWebhook | undefined;
  for (const [key, value] of Object.entries(parsed)) {
    const webhook = WebhookRequest.safeParse(value);
    if (!webhook.success) {
      throw new ConfigError([
        `WEBHOOK_DEFAULTS_FILE=${JSON.stringify(file)}, ${entryName(parsed, key)}: ${webhook.error.issues.map((i) => `${i.path.join('.') || 'value'}: ${i.message}`).join('; ')}`,
      ]);
    }
    try {
      policy.parse(webhook.data.url);
    } catch (error) {
      if (!(error instanceof WebhookUrlRefused)) throw error;
      throw new ConfigError([
        `WEBHOOK_DEFAULTS_FILE=${JSON.stringify(file)}, ${entryName(parsed, key)}: its URL is refused: ${error.message} (WEBHOOK_ALLOWED_HOSTS and WEBHOOK_ALLOW_PRIVATE allow more)`,
      ]);
    }
    if (key === '*') fallback = webhook.data;
    else byOwner.set(ownerId(key), webhook.data);
  }
  return { forOwner: (owner) => (owner === undefined ? undefined : byOwner.get(owner)) ?? fallback };
}

/** An entry of the file, named by its position: its key is a secret. */
function entryName(parsed: object, key: string): string {
  return key === '*' ? '"*"' : `entry ${Object.keys(parsed).indexOf(key) + 1}`;
}
