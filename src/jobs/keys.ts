/**
 * @module jobs/keys
 * Redis key and channel names. Every key of one job shares the hash tag `{<id>}`, so on
 * Redis Cluster a job's record, log and channel live in one slot (Lua scripts may touch them
 * together) while different jobs spread over all shards. BullMQ's own keys must share one
 * slot, so its prefix is the hash tag `{<prefix>}`.
 */
export interface JobKeys {
  /** Hash: the job record (state, progress, timestamps, event sequence, done event). */
  record: string;
  /** List of `<seq>\n<data JSON>` log entries, capped at JOB_LOG_MAX_LINES. */
  log: string;
  /** Pub/sub channel carrying `<seq>\n<event>\n<data JSON>` messages. */
  channel: string;
}

export function jobKeys(prefix: string, id: string): JobKeys {
  const base = `${prefix}:{${id}}`;
  return { record: base, log: `${base}:log`, channel: `${base}:ev` };
}

/** Pub/sub channel on which the API asks workers to stop a running job (message: its id). */
export const cancelChannel = (prefix: string): string => `${prefix}:cancel`;

export const bullPrefix = (prefix: string): string => `{${prefix}}`;
