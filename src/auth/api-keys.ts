/**
 * @module auth/api-keys
 * API keys: who may submit and read jobs. A key is never stored or logged; what the service
 * keeps is its owner id, a short hash, which also marks the jobs it created.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config.js';

export interface ApiKeys {
  /** False when no key is configured: the service is open. */
  readonly enabled: boolean;
  /** The owner id of a presented key, or undefined when it matches no key. */
  verify(presented: string): string | undefined;
}

/** A stable, non-reversible id for a key: marks its jobs, scopes its limits, shows in logs. */
export const ownerId = (key: string): string =>
  createHash('sha256').update(`jobcast-owner:${key}`).digest('hex').slice(0, 24);

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Keys from `API_KEYS` (comma-separated) and `API_KEYS_FILE` (one per line; `#` starts a comment,
 * on its own line or after a key and a space). A keys file that cannot be read, or holds no
 * key, is a {@link ConfigError}: whoever set it meant keys to be required, and the service must
 * not start open instead.
 */
export function loadApiKeys(list: string | undefined, file: string | undefined): string[] {
  const fromFile = file ? keysOfFile(file) : [];
  const fromList = (list ?? '')
    .split(',')
    .map((key) => key.trim())
    .filter(Boolean);
  return [...new Set([...fromList, ...fromFile])];
}

export function createApiKeys(keys: string[]): ApiKeys {
  const entries = keys.map((key) => ({ digest: digest(key), owner: ownerId(key) }));
  return {
    enabled: entries.length > 0,
    verify(presented) {
      // Compare digests (equal length) with every key, without stopping at a match, so the
      // time taken says nothing about which key or how much of it matched.
      const candidate = digest(presented);
      let owner: string | undefined;
      for (const entry of entries) {
        if (timingSafeEqual(candidate, entry.digest)) owner = entry.owner;
      }
      return owner;
    },
  };
}

function keysOfFile(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError([`API_KEYS_FILE=${JSON.stringify(file)}: cannot read it (${(error as Error).message})`]);
  }
  const keys = text
    .split(/\r?\n/)
    .map((line) => line.replace(/(^|\s)#.*$/, '').trim())
    .filter(Boolean);
  if (keys.length === 0) {
    throw new ConfigError([
      `API_KEYS_FILE=${JSON.stringify(file)}: holds no key (one per line); the service will not start open instead`,
    ]);
  }
  return keys;
}
