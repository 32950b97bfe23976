/**
 * @module auth/api-keys
 * API keys: who may submit and read jobs. A key is never stored or logged; what the service
 * keeps is its owner id, a short hash, which also marks the jobs it created.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

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

/** Keys from `API_KEYS` (comma-separated) and `API_KEYS_FILE` (one per line, # comments). */
export function loadApiKeys(list: string | undefined, file: string | undefined): string[] {
  const fromFile = file
    ? readFileSync(file, 'utf8')
        .split(/\r?\n/)
        .map((line) => line.trim())
        .filter((line) => line && !line.startsWith('#'))
    : [];
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
