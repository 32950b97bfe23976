/**
 * @module jobs/recorded-adds
 * New jobs' records and BullMQ's adds in one Redis script call (`scripts/add-with-records`)
 * instead of our records' script and then one BullMQ script per job: one command for the API
 * to build, send and answer, one script execution for Redis. For the jobs BullMQ adds the
 * standard way (see {@link RecordedAdds.fits}); the others go the usual way.
 *
 * BullMQ builds its own part of the call: each job goes through `job.addJob(client)`, BullMQ's
 * public way of adding a job on a given client (its flows use it), on a client that records
 * the command BullMQ asks it to run instead of sending it, and answers with this job's share
 * of the combined reply. So encoding the options, checking them and turning a negative answer
 * into an error stay BullMQ's.
 */
import { Job, type JobsOptions, type Queue } from 'bullmq';
import type { RedisClient } from '../redis.js';
import type { JobRecord } from './record.js';
import { defineScript, type ScriptRunner } from './script-runner.js';
import { addWithRecordsLua, BULL_ARGS, BULL_KEYS, bullStandardAdd } from './scripts/add-with-records.js';
import { recordArgs } from './scripts/create-records.js';

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

export class RecordedAdds {
  readonly #run: ScriptRunner<unknown[]>;

  constructor(
    redis: RedisClient,
    readonly queue: Queue,
  ) {
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
   * Writes `records` and adds `jobs` (the same jobs, in the same order) in one call. `written`
   * settles when the call does, `added` with BullMQ's ids; either rejects if the call fails,
   * and nothing is sent if BullMQ does not build its part as expected.
   */
  add(
    unfinished: string,
    recordKeys: string[],
    records: JobRecord[],
    jobs: BullJob[],
  ): { written: Promise<unknown>; added: Promise<string[]> } {
    let release: (reply: Promise<unknown[]>) => void = () => {};
    const reply = new Promise<unknown[]>((resolve) => {
      release = resolve;
    });
    const clients: RecordingClient[] = [];
    const added = Promise.all(
      jobs.map(({ name, data, opts }, i) => {
        const client = new RecordingClient(reply, i);
        clients.push(client);
        // BullMQ's checks throw at once: as a rejection, like `queue.add`'s.
        try {
          const job = new Job(this.queue, name, data, { ...this.queue.jobsOpts, ...opts }, opts.jobId);
          // BullMQ types the client as its own; this one has the only method `addJob` calls.
          return job.addJob(client as never);
        } catch (error) {
          return Promise.reject(error);
        }
      }),
    );
    const keys: string[] = [];
    const args: (string | number | Buffer)[] = recordArgs(records);
    // BullMQ built each call synchronously (or not at all, having thrown): send them now.
    for (const { call } of clients) {
      if (!call) {
        const failed = Promise.reject(new Error('BullMQ did not build its add at once'));
        release(failed);
        // Those BullMQ did build await it; nobody else may.
        reply.catch(() => {});
        return { written: failed, added };
      }
      if (keys.length === 0) keys.push(...(call.slice(0, BULL_KEYS) as string[]));
      args.push(...call.slice(BULL_KEYS));
    }
    keys.push(unfinished, ...recordKeys);
    // ioredis sends Buffers (BullMQ's packed arguments) as they are.
    const sent = this.#run(keys, args as (string | number)[]);
    release(sent);
    return { written: sent, added };
  }
}
