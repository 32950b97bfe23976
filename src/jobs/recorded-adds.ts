/**
 * @module jobs/recorded-adds
 * New jobs' records and BullMQ's adds in one Redis script call (`scripts/add-with-records`)
 * instead of our records' script and then one BullMQ script per job: one command for the API
 * to build, send and answer, one script execution for Redis. For the jobs BullMQ adds the
 * standard way (see {@link RecordedAdds.fits}); the others go the usual way.
 *
 * The adds of one turn of the event loop go as shared calls too: requests that arrive together
 * (one job each, from concurrent clients) are written by one script, and each caller hears its
 * own jobs' answers. Per job, the API then builds and answers a share of one command rather than
 * a command, and Redis runs a share of one script call: a `POST /jobs` at 32 concurrent clients
 * cost the API 94.5 → 79.6 µs of CPU (decision 021). A call leaves at the end of the turn, or as
 * soon as it holds {@link SEND_AT_JOBS} jobs, so that Redis runs it while the API reads the
 * turn's other requests (decision 022).
 *
 * BullMQ builds its own part of the call: each job goes through `job.addJob(client)`, BullMQ's
 * public way of adding a job on a given client (its flows use it), on a client that records
 * the command BullMQ asks it to run instead of sending it, and answers with this job's share
 * of the combined reply. So encoding the options, checking them and turning a negative answer
 * into an error stay BullMQ's.
 */
import { Job, type JobsOptions, type Queue } from 'bullmq';
import { flushWrites, type RedisClient } from '../redis.js';
import { allOf } from './pending.js';
import type { JobRecord } from './record.js';
import { MAX_JOBS_PER_BATCH } from './schemas/submission.js';
import { defineScript, type ScriptRunner } from './script-runner.js';
import { addWithRecordsLua, BULL_ARGS, BULL_KEYS, bullStandardAdd } from './scripts/add-with-records.js';
import { recordArgs } from './scripts/create-records.js';

/**
 * Jobs one call carries at most (a batch's): Redis runs a script whole and serves nothing else
 * meanwhile, so the adds of a busy turn go as several calls of this size.
 */
export const MAX_JOBS_PER_CALL = MAX_JOBS_PER_BATCH;

/**
 * A call holding this many jobs leaves at once, not at the end of the turn. Held to the end, a
 * burst of requests took turns with Redis: the API read all of a turn's requests while Redis
 * idled, then idled while Redis ran them. At 32 concurrent clients (bench/ab-enqueue.ts), 16 →
 * +16% jobs/s over one call per turn; 8: +13%, 4: +6%, 32: none (decision 022).
 */
export const SEND_AT_JOBS = 16;

/** A job as `queue.add` takes it. */
export interface BullJob {
  name: string;
  data: unknown;
  opts: JobsOptions;
}

/** What `job.addJob` uses of a client: it asks it to run one script and awaits the answer. */
class RecordingClient {
  /** BullMQ's KEYS then ARGV, as it asked for them. */
  call: (string | number | Buffer)[] | undefined;

  constructor(
    readonly reply: Promise<unknown[]>,
    readonly index: number,
  ) {}

  runCommand(name: string, args: (string | number | Buffer)[]): Promise<unknown> {
    // A check that cannot wait for a test: a BullMQ that adds otherwise fails every submission
    // loudly (503) rather than queueing jobs wrongly.
    if (name !== bullStandardAdd || args.length !== BULL_KEYS + BULL_ARGS) {
      throw new Error(
        `BullMQ asked for ${name} with ${args.length} arguments, not ${bullStandardAdd} with ${BULL_KEYS + BULL_ARGS}`,
      );
    }
    this.call = args;
    // Only now: an answer nobody awaits would be an unhandled rejection when the call fails.
    return this.reply.then((answers) => answers[this.index]);
  }
}

/** A call being gathered: the shares of this turn's callers. */
interface Gathering {
  unfinished: string;
  shares: Share[];
  jobs: number;
}

/** One caller's jobs in a call being gathered. */
interface Share {
  recordKeys: string[];
  records: JobRecord[];
  /** BullMQ's KEYS and ARGV of each job, as it built them. */
  calls: (string | number | Buffer)[][];
  /** Hands the caller's jobs their part of the call's answer. */
  answer: (reply: Promise<unknown[]>) => void;
  /** Runs the caller's `follow` and hands its writes to the caller's wait (none: nothing follows). */
  follow: (() => void) | undefined;
}

export class RecordedAdds {
  readonly #redis: RedisClient;
  readonly #run: ScriptRunner<unknown[]>;
  /** The call being gathered: sent once it is full enough, or when the turn's I/O callbacks are done. */
  #gathering: Gathering | undefined;

  constructor(
    redis: RedisClient,
    readonly queue: Queue,
  ) {
    this.#redis = redis;
    this.#run = defineScript<unknown[]>(redis, 'jobcastAddWithRecords', addWithRecordsLua);
  }

  /**
   * Whether BullMQ adds a job with these options with its standard script (what it picks in
   * `addJobToTransaction`): not delayed, not prioritized, no parent, no deduplication.
   */
  static fits(opts: JobsOptions): boolean {
    return !opts.delay && !opts.priority && !opts.parent && !opts.deduplication;
  }

  /**
   * Writes `records` and adds `jobs` (the same jobs, in the same order), in the call this turn's
   * adds share. `done` settles once the call has been answered, BullMQ has taken its answer for
   * every job, and `follow`'s writes are done; it rejects if any of that fails (a job BullMQ
   * refuses, with BullMQ's error), and nothing is sent if BullMQ does not build its part as
   * expected. `adds` are BullMQ's own adds, one per job, each settling with its id. `follow`
   * runs right after the call is sent, so what it sends goes after it on the connection (the
   * owner's index and feed entries, which must not name a job before its record exists).
   *
   * One promise to wait for, not one for the writes and one for the adds: a job's add settles
   * only after the call's answer, so it stands for the call. On the path of every `POST /jobs`
   * each promise more is a reaction and a turn more.
   */
  add(
    unfinished: string,
    recordKeys: string[],
    records: JobRecord[],
    jobs: BullJob[],
    follow?: () => Promise<unknown>,
  ): { done: Promise<unknown>; adds: Promise<string>[] } {
    let answer: (reply: Promise<unknown[]>) => void = () => {};
    const reply = new Promise<unknown[]>((resolve) => {
      answer = resolve;
    });
    const clients: RecordingClient[] = [];
    const adds = jobs.map(({ name, data, opts }, i) => {
      const client = new RecordingClient(reply, i);
      clients.push(client);
      // BullMQ's checks throw at once: as a rejection, like `queue.add`'s.
      return attempt(() => {
        const job = new Job(this.queue, name, data, { ...this.queue.jobsOpts, ...opts }, opts.jobId);
        // BullMQ types the client as its own; this one has the only method `addJob` calls.
        return job.addJob(client as never);
      });
    });
    const calls: (string | number | Buffer)[][] = [];
    // BullMQ built each call synchronously (or not at all, having thrown).
    for (const { call } of clients) {
      if (!call) {
        const failed = Promise.reject(new Error('BullMQ did not build its add at once'));
        answer(failed);
        // Those BullMQ did build await it; nobody else may.
        reply.catch(() => {});
        return { done: Promise.all([...adds, failed]), adds };
      }
      calls.push(call);
    }
    let runFollow: (() => void) | undefined;
    const followed =
      follow &&
      new Promise<unknown>((resolve) => {
        runFollow = () => resolve(attempt(follow));
      });
    this.#gather(unfinished, { recordKeys, records, calls, answer, follow: runFollow });
    return { done: allOf([...adds, followed]), adds };
  }

  #gather(unfinished: string, share: Share): void {
    const open = this.#gathering;
    if (open && (open.unfinished !== unfinished || open.jobs + share.calls.length > MAX_JOBS_PER_CALL)) this.#send();
    const gathering = this.#gathering ?? this.#startGathering(unfinished);
    gathering.shares.push(share);
    gathering.jobs += share.calls.length;
    if (gathering.jobs >= SEND_AT_JOBS) this.#send();
  }

  /** A new call to gather, sent after this turn's I/O callbacks: those that arrive with it join it. */
  #startGathering(unfinished: string): Gathering {
    const started: Gathering = { unfinished, shares: [], jobs: 0 };
    this.#gathering = started;
    setImmediate(() => {
      // Unless a full call sent it already.
      if (this.#gathering === started) this.#send();
    });
    return started;
  }

  /** Sends the call gathered so far; each share gets its part of the answer. */
  #send(): void {
    const gathering = this.#gathering;
    this.#gathering = undefined;
    if (!gathering) return;
    const keys: string[] = [];
    const records: JobRecord[] = [];
    const recordKeys: string[] = [];
    const bullArgs: (string | number | Buffer)[] = [];
    for (const share of gathering.shares) {
      records.push(...share.records);
      recordKeys.push(...share.recordKeys);
      for (const call of share.calls) {
        if (keys.length === 0) keys.push(...(call.slice(0, BULL_KEYS) as string[]));
        bullArgs.push(...call.slice(BULL_KEYS));
      }
    }
    keys.push(gathering.unfinished, ...recordKeys);
    // ioredis sends Buffers (BullMQ's packed arguments) as they are.
    const sent = attempt(() => this.#run(keys, [...recordArgs(records), ...bullArgs] as (string | number)[]));
    let from = 0;
    for (const share of gathering.shares) {
      const start = from;
      const end = start + share.calls.length;
      from = end;
      share.answer(sent.then((answers) => answers.slice(start, end)));
      share.follow?.();
    }
    // Sent now, not at the end of the turn (a full call), or from a setImmediate, after the
    // connection's own flush of this turn has run: either way the connection must send it now.
    flushWrites(this.#redis);
  }
}

/**
 * `fn()`, with a synchronous throw as a rejection: BullMQ's checks refuse a job by throwing, and
 * a send runs outside any caller's turn, where every share of it must settle whatever happens.
 */
function attempt<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return fn();
  } catch (error) {
    return Promise.reject(error);
  }
}
