/**
 * @module jobs/snapshot
 * A job's record and its kept log lines, read in one atomic step (`jobs/scripts/snapshot`):
 * what a stream needs on connect. Bound to a connection, so that a stream can read on the
 * connection it subscribed on (see `events/hub`).
 */
import type { RedisClient } from '../redis.js';
import type { JobKeys } from './keys.js';
import type { JobSnapshot } from './record.js';
import { bindScript } from './script-runner.js';
import { snapshotScript } from './scripts/snapshot.js';

/** Reads a job's snapshot; undefined for a job that has no record (any more). */
export type SnapshotReader = (id: string) => Promise<JobSnapshot | undefined>;

/** The snapshot read, run on `redis`. */
export function snapshotReader(redis: RedisClient, keys: (id: string) => JobKeys): SnapshotReader {
  const run = bindScript(redis, snapshotScript);
  // A `then`, not an async function: one promise and one turn fewer per stream opened.
  return (id) => run(keys(id)).then((reply) => toSnapshot(id, reply));
}

function toSnapshot(id: string, reply: string): JobSnapshot | undefined {
  if (reply === '') return undefined;
  const [fields, log] = JSON.parse(reply) as [string[], string[] | Record<string, never>];
  // cjson writes an empty log as `{}`.
  const entries = Array.isArray(log) ? log : [];
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) record[fields[i] as string] = fields[i + 1] as string;
  if (!record.id) return undefined;
  return {
    record: record as unknown as JobSnapshot['record'],
    logs: entries.map((entry) => {
      const cut = entry.indexOf('\n');
      return { jobId: id, seq: Number(entry.slice(0, cut)), event: 'log', data: entry.slice(cut + 1) };
    }),
  };
}
