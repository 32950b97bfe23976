/**
 * @module api/access
 * Who may call the API: the API keys (API_KEYS, API_KEYS_FILE) and the stream tokens issued to
 * their owners, with the secret every replica with the same keys derives alike.
 */
import { createHash } from 'node:crypto';
import { type ApiKeys, createApiKeys, loadApiKeys } from '../auth/api-keys.js';
import { StreamTokens } from '../auth/stream-tokens.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';

export interface Access {
  apiKeys: ApiKeys;
  streamTokens: StreamTokens;
}

/** Loads the keys and says, in the log, whether they are required (loudly when they are not). */
export function loadAccess(
  config: Pick<Config, 'API_KEYS' | 'API_KEYS_FILE' | 'STREAM_TOKEN_SECRET' | 'STREAM_TOKEN_TTL_SECONDS'>,
  log: Logger,
): Access {
  const keyList = loadApiKeys(config.API_KEYS, config.API_KEYS_FILE);
  const apiKeys = createApiKeys(keyList);
  // Every replica with the same keys derives the same secret, so tokens work on any of them.
  const tokenSecret =
    config.STREAM_TOKEN_SECRET ??
    createHash('sha256')
      .update(`jobcast-stream-tokens\n${[...keyList].sort().join('\n')}`)
      .digest('hex');
  const streamTokens = new StreamTokens(tokenSecret, config.STREAM_TOKEN_TTL_SECONDS);
  if (apiKeys.enabled) {
    log.info('API keys required', { keys: keyList.length });
  } else {
    log.warn(
      'NO API KEYS CONFIGURED: anyone who can reach this port can submit jobs, and anyone who knows a job id can read and cancel it (jobs are never listed). Set API_KEYS to require keys.',
    );
  }
  return { apiKeys, streamTokens };
}
