/**
 * @module jobs/store
 * A job's record in RedisClient: created by the API on submit, changed by workers through the Lua
 * scripts of `jobs/scripts`, read by the API for the job resource and on stream connect.
 * BullMQ runs the job; this record is what clients see of it.
 */
import type { Config } from '../config.js';
import type { RedisClient } from '../redis.js';
import { doneData, logData } from './events.js';
import { createdEntry, FeedLog } from './feed.js';
import { type JobKeys, jobKeys } from './keys.js';
import { type ListFilter, type ListPage, OwnerIndex } from './owner-index.js';
import { allOf } from './pending.js';
import {
  type JobEventObserver,
  type JobRecord,
  type JobSnapshot,
  type NewJob,
  newRecord,
  recordFields,
} from './record.js';
import type { TerminalStatus } from './schemas.js';
import { bindScript } from './script-runner.js';
import { createRecordsScript } from './scripts/create-records.js';
import { finishScript } from './scripts/finish.js';
import { logScript } from './scripts/log.js';
import type { RecordScriptResult } from './scripts/record-prelude.js';
import { type ProgressChange, reportScript } from './scripts/report.js';
import { requestCancelScript } from './scripts/request-cancel.js';
import { type SnapshotReader, snapshotReader } from './snapshot.js';
import { UnfinishedSet } from './unfinished.js';

export type { ListFilter, ListPage } from './owner-index.js';
export type { JobEventObserver, JobRecord, JobSnapshot, NewJob } from './record.js';
export type { ProgressChange } from './scripts/report.js';

export interface StoreOptions {
  prefix: string;
  /** Log lines kept per job. */
  logMaxLines: number;
  /** Seconds a finished job is kept. */
  retentionSeconds: number;
  /** `PUBLISH`, or `SPUBLISH` for sharded pub/sub on RedisClient Cluster. */
  publishCommand?: 'PUBLISH' | 'SPUBLISH';
  /** Told of every event recorded (webhooks, #17: the outbox queues deliveries from here). */
  observer?: JobEventObserver | undefined;
  /** Changes kept per API key for resuming its feed (FEED_MAX_EVENTS). */
  feedMaxEvents?: number;
  /** REDIS_CLUSTER: jobs' keys live in different slots, so no script writes several records. */
  cluster?: boolean;
}

/** The store every process builds from its config: the API, the worker, the same options. */
export function createJobStore(redis: RedisClient, config: Config, observer?: JobEventObserver): JobStore {
  return new JobStore(redis, {
    prefix: config.KEY_PREFIX,
    logMaxLines: config.JOB_LOG_MAX_LINES,
    retentionSeconds: config.JOB_RETENTION_SECONDS,
    publishCommand: config.REDIS_CLUSTER ? 'SPUBLISH' : 'PUBLISH',
    observer,
    feedMaxEvents: config.FEED_MAX_EVENTS,
    cluster: config.REDIS_CLUSTER,
  });
}

export class JobStore {
  readonly #redis: RedisClient;
  readonly #options: Required<Omit<StoreOptions, 'observer'>>;
  readonly #observer: JobEventObserver | undefined;
  readonly #report;
  readonly #log;
  readonly #finish;
  readonly #requestCancel;
  readonly #createRecords;
  readonly #snapshot: SnapshotReader;
  /** The feeds of the API keys (`GET /events/feed`). */
  readonly feed: FeedLog;
  /** The owners' indexes (`GET /jobs`). */
  readonly index: OwnerIndex;
  /** The jobs not finished yet, which the reconciler walks (see `jobs/unfinished`). */
  readonly unfinished: UnfinishedSet;

  constructor(redis: RedisClient, options: StoreOptions) {
    this.#redis = redis;
    const { observer, ...rest } = options;
    this.#options = { publishCommand: 'PUBLISH', feedMaxEvents: 10_000, cluster: false, ...rest };
    this.#observer = observer;
    this.#report = bindScript(redis, reportScript);
    this.#log = bindScript(redis, logScript);
    this.#finish = bindScript(redis, finishScript);
    this.#requestCancel = bindScript(redis, requestCancelScript);
    this.#createRecords = bindScript(redis, createRecordsScript);
    this.#snapshot = snapshotReader(redis, (id) => this.keys(id));
    this.index = new OwnerIndex(redis, this.#options.prefix, (id) => this.get(id));
    this.unfinished = new UnfinishedSet(redis, this.#options.prefix);
    this.feed = new FeedLog(redis, {
      prefix: this.#options.prefix,
      maxEvents: this.#options.feedMaxEvents,
      retentionSeconds: this.#options.retentionSeconds,
      publishCommand: this.#options.publishCommand,
    });
  }

  /** A job script's answer; a job of an API key then has its changes appended to the key's feed. */
  async #change(recorded: Promise<RecordScriptResult>): Promise<number> {
    const result = await recorded;
    if (typeof result === 'number') return result;
    const [seq, owner, ...entries] = result;
    await this.feed.append(owner, entries);
    return seq;
  }

  /** A page of an owner's jobs, newest first (see `jobs/owner-index`). */
  list(owner: string, filter: ListFilter, limit: number, cursor?: string): Promise<ListPage> {
    return this.index.list(owner, filter, limit, cursor);
  }

  /** The owner's index of all jobs (see `jobs/owner-index`). */
  indexKey(owner: string): string {
    return this.index.indexKey(owner);
  }

  /** The owner's index of one type's jobs. */
  typeIndexKey(owner: string, type: string): string {
    return this.index.typeIndexKey(owner, type);
  }

  /** REDIS_CLUSTER: jobs' keys live in different slots. */
  get cluster(): boolean {
    return this.#options.cluster;
  }

  keys(id: string): JobKeys {
    return jobKeys(this.#options.prefix, id);
  }

  /**
   * Writes the records of new jobs of one owner: state queued, seq 1 (their first progress
   * event), and, for a key's owner, their index entries and their first feed entries. Returns
   * the records as written and the pending writes (one script for the records and their
   * unfinished entries where the keys share a server, else one HSET per job and one ZADD; one
   * index ZADD for all and one per type and tag among them, one feed append). `writeRecords`,
   * when given, writes the records instead, and calls `follow` once it has sent them: the
   * index and feed writes go after the records on the connection (see `jobs/recorded-adds`).
   * Without an owner nothing follows, and `follow` is undefined.
   */
  create(
    jobs: NewJob[],
    owner: string | undefined,
    createdAt: number,
    writeRecords?: (records: JobRecord[], follow: (() => Promise<unknown>) | undefined) => Promise<unknown>,
  ): { records: JobRecord[]; written: Promise<unknown> } {
    const created = String(createdAt);
    const records = jobs.map((job) => newRecord(job, owner, created));
    // The owner's index and feed name the jobs: sent after their records.
    // Without an owner nothing follows (no index, no feed).
    const follow =
      owner === undefined
        ? undefined
        : () =>
            allOf([
              ...this.index.writes(jobs, owner, createdAt, 'zadd'),
              this.feed.append(owner, records.map(createdEntry)),
            ]);
    const written = writeRecords
      ? writeRecords(records, follow)
      : allOf([...this.#writeRecords(records, createdAt), follow?.()]);
    return { records, written };
  }

  /**
   * The records' writes and their unfinished entries: one script for them all where every key
   * is on one server; on a Cluster, one HSET per job and one ZADD (the set has a slot of its own).
   */
  #writeRecords(records: JobRecord[], createdAt: number): Promise<unknown>[] {
    const ids = records.map((r) => r.id);
    if (this.#options.cluster) {
      return [
        ...records.map((record) => this.#redis.hset(this.keys(record.id).record, ...recordFields(record))),
        this.unfinished.add(ids, createdAt),
      ];
    }
    return [
      this.#createRecords({ unfinished: this.unfinished.key, keys: ids.map((id) => this.keys(id).record), records }),
    ];
  }

  /** Removes the records of jobs that never made it into the queue. */
  async discard(jobs: NewJob[], createdAt: number, owner: string | undefined): Promise<void> {
    await Promise.all([
      // One DEL per job: on a Cluster, different jobs' keys live in different slots.
      ...jobs.map(({ id }) => this.#redis.del(this.keys(id).record, this.keys(id).log)),
      ...this.index.writes(jobs, owner, createdAt, 'zrem'),
      this.unfinished.forget(jobs.map(({ id }) => id)),
    ]);
  }

  /** Records a cancellation request: -1 no such job, 0 already finished, 1 recorded. */
  requestCancel(id: string, reason: string): Promise<number> {
    return this.#requestCancel({ keys: this.keys(id), reason });
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const record = await this.#redis.hgetall(this.keys(id).record);
    return record.id ? (record as unknown as JobRecord) : undefined;
  }

  /** The record and its kept log lines, read together in one round trip (atomically). */
  snapshot(id: string): Promise<JobSnapshot | undefined> {
    return this.#snapshot(id);
  }

  /**
   * Records a state or progress change and publishes it. Returns its seq, or 0 if the job is
   * gone or finished (-1 cancel requested, -2 a newer attempt runs: see `jobs/scripts`).
   */
  report(id: string, change: ProgressChange, at = Date.now()): Promise<number> {
    const { publishCommand } = this.#options;
    const recorded = this.#change(this.#report({ keys: this.keys(id), publishCommand, change, at }));
    return this.#tell(recorded, id, 'progress');
  }

  /** Appends a log line and publishes it. Returns its seq, or 0 if the job is gone or finished. */
  log(id: string, line: string): Promise<number> {
    const data = logData(id, line, Date.now());
    const { publishCommand, logMaxLines: maxLines } = this.#options;
    const recorded = this.#log({ keys: this.keys(id), publishCommand, data, maxLines });
    return this.#tell(recorded, id, 'log', data);
  }

  /**
   * Ends a job: a final progress event, then `done`, then retention starts. Idempotent: the
   * first call wins and later ones return 0, so workers and reconcilers may both call it.
   * The job then leaves the unfinished set (if that fails, the reconciler removes it later).
   */
  async finish(
    id: string,
    status: TerminalStatus,
    outcome: { result?: unknown; error?: string; message?: string },
  ): Promise<number> {
    const seq = await this.#finishRecord(id, status, outcome);
    if (seq > 0) await this.unfinished.forget([id]).catch(() => {});
    return seq;
  }

  #finishRecord(
    id: string,
    status: TerminalStatus,
    outcome: { result?: unknown; error?: string; message?: string },
  ): Promise<number> {
    const at = Date.now();
    const done = doneData(id, status, outcome, at);
    const { publishCommand, retentionSeconds } = this.#options;
    const recorded = this.#change(
      this.#finish({
        keys: this.keys(id),
        publishCommand,
        status,
        message: outcome.message,
        at,
        done,
        retentionSeconds,
      }),
    );
    return this.#tell(recorded, id, 'done', done);
  }

  /** Passes a recorded event (seq > 0) to the observer; the caller gets the seq either way. */
  #tell(recorded: Promise<number>, id: string, event: 'progress' | 'log' | 'done', data?: string): Promise<number> {
    const observer = this.#observer;
    if (!observer) return recorded;
    return recorded.then((seq) => {
      if (seq > 0) observer.recorded(id, event, seq, data);
      return seq;
    });
  }
}
