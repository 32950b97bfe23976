/**
 * @module workers/processor
 * What a worker does with one job BullMQ hands it: check the job's type and input, record the
 * start, run the handler with its context (`workers/job-context`), keep a re-run's lock alive,
 * and turn the ways a run ends early into what BullMQ should do — cancelled (never retried),
 * superseded (ignored), shutdown or a Redis that refused the start (handed back to the queue),
 * a handler that ignored its signal at shutdown (abandoned to BullMQ's stalled-job check).
 */
import { setMaxListeners } from 'node:events';
import { DelayedError, type Job, UnrecoverableError } from 'bullmq';
import type { JobContext } from '../src/jobs/job-type.js';
import { JobCancelledError, JobSupersededError, WorkerShutdownError } from '../src/jobs/outcomes.js';
import type { JobTypeRegistry } from '../src/jobs/registry.js';
import type { JobStore } from '../src/jobs/store.js';
import { isRedisFault, REDIS_FAILURE_REASON, type RedisFaultLog } from '../src/redis-faults.js';
import { runContext } from './job-context.js';
import type { RecordWrite } from './record-writes.js';

/**
 * A job whose start Redis refused to record (full, read-only) goes back to the queue for this
 * long rather than failing: the outage is not the job's fault, and a hand-back is no attempt.
 */
const REDIS_HAND_BACK_DELAY_MS = 1_000;

export interface ProcessorOptions {
  jobTypes: JobTypeRegistry;
  store: JobStore;
  write: RecordWrite;
  faults: RedisFaultLog;
  /** WORKER_LOCK_MS: a re-run renews its own lock every half of it. */
  lockMs: number;
}

/** BullMQ's processor for this worker, and how many jobs it is running right now. */
export interface JobProcessor {
  process(job: Job, token?: string, signal?: AbortSignal): Promise<unknown>;
  readonly running: number;
  /** The lock token of the newest run of job `id` in this process, while it runs. */
  tokenOf(id: string): string | undefined;
  /**
   * Stops waiting for handlers that ignored their signal at shutdown: each of their runs ends
   * at once and leaves its job to BullMQ as it is — active, its lock no longer renewed, so it
   * expires and the stalled-job check hands the job on (a stall, so a new attempt: the handler
   * may still be running here). The handlers themselves run on, unheard.
   */
  abandon(): void;
}

/** The processor of a worker (see the module comment). */
export function createProcessor(options: ProcessorOptions): JobProcessor {
  let running = 0;
  const tokens = new Map<string, string>();
  const abandoned = new AbortController();
  // One listener per running job (WORKER_CONCURRENCY of them at most), each removed when its
  // run ends: more than Node's default of 10 is no leak, so it must not warn of one.
  setMaxListeners(0, abandoned.signal);
  return {
    async process(job, token, signal) {
      running++;
      const id = job.id as string;
      if (token) tokens.set(id, token);
      try {
        return await runJob(options, abandoned.signal, job, token, signal);
      } finally {
        running--;
        // A stale run ending leaves the newer run's token in place.
        if (token && tokens.get(id) === token) tokens.delete(id);
      }
    },
    get running() {
      return running;
    },
    tokenOf(id) {
      return tokens.get(id);
    },
    abandon() {
      abandoned.abort();
    },
  };
}

async function runJob(
  { jobTypes, store, write, faults, lockMs }: ProcessorOptions,
  abandoned: AbortSignal,
  job: Job,
  token?: string,
  bullSignal?: AbortSignal,
): Promise<unknown> {
  const id = job.id as string;
  const jobType = jobTypes.get(job.name);
  if (!jobType) throw new UnrecoverableError(`unknown job type ${JSON.stringify(job.name)}`);
  const parsed = jobType.input.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`invalid job data: ${parsed.error.message}`);

  // Failed attempts (retries) and runs restarted after a stall count; hand-backs (shutdown, a
  // Redis that refused the start) do not, though BullMQ's attemptsStarted counts those too.
  // Only ever grows, so a stale run of the same job is told apart by its lower number.
  const attempt = job.attemptsMade + job.stalledCounter + 1;
  const startedAt = Date.now();
  const { ctx, noteReport } = runContext(store, write, { jobId: id, attempt, startedAt, signal: bullSignal });
  const { signal } = ctx;
  /** Ends the run its signal stopped: a shutdown hands the job back; else cancelled or superseded. */
  const endStopped = async (): Promise<never> => {
    if (signal.reason instanceof WorkerShutdownError && token) {
      // Hand the job back: due now, so another worker (or this one, started again) takes it
      // without waiting for the stalled-job check; not an attempt (see `attempt`). The
      // record first, so the next run's `active` cannot be overtaken by this `queued`.
      // DelayedError tells BullMQ the move is done.
      await write(
        store.report(id, { state: 'queued', progress: 0, attempt, message: 'returned to the queue: worker shut down' }),
        'hand-back',
        id,
      );
      await job.moveToDelayed(Date.now(), token);
      throw new DelayedError();
    }
    throw abortError(signal);
  };
  try {
    // A run after another (a retry, a re-run after a stall, a job handed back) says so: the
    // record's message is otherwise the last run's last word ("step 8 of 10"), or why it
    // stopped, beside a progress back at 0. (BullMQ counts this run in attemptsStarted.)
    const message =
      job.attemptsStarted > 1 ? (attempt > 1 ? `attempt ${attempt} started` : 'started again') : undefined;
    noteReport(await store.report(id, { state: 'active', progress: 0, attempt, startedAt, message }, startedAt));
  } catch (error) {
    if (!isRedisFault(error)) throw error;
    // Redis refused to record the start (out of memory, read-only…): hand the job back
    // rather than fail it for Redis's sake. The move itself works on a full Redis (BullMQ's
    // script frees the lock first).
    faults.report(error);
    if (!token) throw new Error(REDIS_FAILURE_REASON);
    await job.moveToDelayed(Date.now() + REDIS_HAND_BACK_DELAY_MS, token).catch(() => {
      throw new Error(REDIS_FAILURE_REASON);
    });
    throw new DelayedError();
  }
  // Stopped between the start and its report (a shutdown or a cancel that came meanwhile): ended
  // as if the handler had given up at once — a shutdown hands the job back, it is no cancel.
  if (signal.aborted) return endStopped();
  const handler = jobType.handler as (input: unknown, ctx: JobContext) => unknown;
  // A re-run after a stall renews its own lock as well. BullMQ tracks locks by job id, so
  // when a stale run of the same job (one cut off from Redis past its lock, see
  // JobSupersededError) ends in this process, BullMQ stops renewing the lock of the run that
  // replaced it, which would then stall for no reason. A first run has no stale twin, and
  // BullMQ's renewal suffices: this halves the Redis cost of a running job (README).
  const renew =
    token && job.stalledCounter > 0
      ? setInterval(() => {
          job.extendLock(token, lockMs).catch(() => {});
        }, lockMs / 2)
      : undefined;
  try {
    const result = await unlessAborted(Promise.resolve(handler(parsed.data, ctx)), abandoned);
    // A cancel wins over a handler that ignored its signal and finished anyway: the client was
    // told 202, and the job ends cancelled, its result discarded.
    if (signal.aborted && signal.reason instanceof JobCancelledError) return endStopped();
    // BullMQ stores undefined as nothing; keep "no result" explicit.
    return result ?? null;
  } catch (error) {
    // Abandoned (see JobProcessor.abandon): DelayedError makes BullMQ leave the job as it is.
    if (abandoned.aborted) throw new DelayedError();
    const reason: unknown = signal.aborted ? signal.reason : undefined;
    if (
      reason instanceof JobCancelledError ||
      reason instanceof JobSupersededError ||
      (reason instanceof WorkerShutdownError && token)
    )
      return endStopped();
    // A handler's own Redis trouble is not its failure to explain: BullMQ keeps the text.
    if (isRedisFault(error)) throw new Error(REDIS_FAILURE_REASON);
    throw failureOf(error);
  } finally {
    clearInterval(renew);
  }
}

/**
 * What a handler threw, as the Error whose message the job's `error` shows: BullMQ keeps only
 * an Error's message, so a thrown string or object (or an Error without a message) would end
 * the job failed with no word of why.
 */
function failureOf(error: unknown): Error {
  if (error instanceof Error) {
    // Kept as it is (an UnrecoverableError must stay one), only given words.
    if (!error.message) error.message = `${error.name} (without a message)`;
    return error;
  }
  if (typeof error === 'string') return new Error(error || 'the handler threw an empty string');
  let text: string;
  try {
    text = JSON.stringify(error) ?? String(error);
  } catch {
    text = String(error);
  }
  return new Error(`the handler threw ${text}`);
}

/** `work`, unless `signal` aborts first: then rejects at once, and `work` goes on unheard. */
function unlessAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  let stop: () => void = () => {};
  const aborted = new Promise<never>((_, reject) => {
    stop = () => reject(signal.reason);
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
  });
  // Per run, and removed after: a long-lived signal must not collect one listener per job.
  return Promise.race([work, aborted]).finally(() => signal.removeEventListener('abort', stop));
}

/** What a run stopped by `signal` throws: superseded, or else cancelled. */
function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof JobSupersededError ? new JobSupersededError() : new JobCancelledError();
}
