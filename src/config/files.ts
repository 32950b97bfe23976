/**
 * @module config/files
 * The settings that name a file (API_KEYS_FILE, WEBHOOK_DEFAULTS_FILE), read once before anything
 * starts: a file that cannot be read, or holds nothing usable, is told as a bad setting is (one
 * message, exit 2), not as a stack trace from deep in the start-up, and with API_PROCESSES once
 * by the primary rather than by every process it would restart.
 */
import { loadApiKeys } from '../auth/api-keys.js';
import type { Config } from '../config.js';
import { loadWebhookDefaults } from '../webhooks/defaults.js';
import { createUrlPolicy } from '../webhooks/url-policy.js';

/**
 * Reads every file a setting names; throws the ConfigError of the first that is wrong. Returns
 * the API keys found (of API_KEYS and API_KEYS_FILE), for an entry point that says whether keys
 * are on.
 */
export function checkSettingFiles(config: Config): { apiKeys: string[] } {
  const apiKeys = loadApiKeys(config.API_KEYS, config.API_KEYS_FILE);
  loadWebhookDefaults(config.WEBHOOK_DEFAULTS_FILE, createUrlPolicy(config));
  return { apiKeys };
}
