/**
 * @module cli/watch
 * Follows one job to its end with the client's `watch` (which resumes by itself after a lost
 * connection) and turns the outcome into an exit code. Two things end a watch early:
 * - no connection for `giveUpMs` in a row (the client would retry forever) → exit 5;
 * - Ctrl-C → exit 130; the job keeps running, and the user is told how to resume.
 */
import { type JobcastClient, JobcastError } from '../../packages/client/src/index.js';
import { ExitCode } from './exit.js';
import type { WatchView } from './render.js';

export interface WatchContext {
  client: JobcastClient;
  url: string;
  giveUpMs: number;
  view: WatchView;
  /** Where "stopped watching" and "gave up" go (stderr). */
  say: (line: string) => void;
}

export async function watchJob(id: string, { client, url, giveUpMs, view, say }: WatchContext): Promise<ExitCode> {
  const stop = new AbortController();
  let reason: 'interrupted' | 'unreachable' | undefined;

  // The give-up clock runs whenever there is no live connection, from the start (the first
  // connect may fail too) and again from each drop; a live connection stops it.
  let giveUp: NodeJS.Timeout | undefined;
  const startClock = () => {
    giveUp ??= setTimeout(() => {
      reason = 'unreachable';
      stop.abort();
    }, giveUpMs);
  };
  const stopClock = () => {
    clearTimeout(giveUp);
    giveUp = undefined;
  };
  const onSigint = () => {
    // A second Ctrl-C while the first is being handled: leave at once.
    if (reason === 'interrupted') process.exit(ExitCode.interrupted);
    reason = 'interrupted';
    stop.abort();
  };

  startClock();
  process.on('SIGINT', onSigint);
  try {
    const events = client.watch(id, {
      signal: stop.signal,
      // The client's waits between attempts grow to 30 s by default: after an ordinary restart
      // (12–20 s) the next attempt could fall after the give-up, and the watch gave up on a
      // server that was back. Capped at a tenth of the window, attempts keep coming to its end.
      maxRetryMs: retryCeiling(giveUpMs),
      onConnection: (state) => {
        if (state === 'live') stopClock();
        else startClock();
        view.connection(state);
      },
    });
    for await (const event of events) {
      view.event(event);
      if (event.type === 'done') {
        return event.data.status === 'completed'
          ? ExitCode.ok
          : event.data.status === 'failed'
            ? ExitCode.failed
            : ExitCode.cancelled;
      }
    }
  } catch (error) {
    view.abandon();
    throw error;
  } finally {
    stopClock();
    process.off('SIGINT', onSigint);
  }

  view.abandon();
  if (reason === 'interrupted') {
    say(`stopped watching; job ${id} keeps running (resume with: jobcast watch ${id})`);
    return ExitCode.interrupted;
  }
  if (reason === 'unreachable') {
    say(`cannot reach ${url}: no connection for ${formatSeconds(giveUpMs)}, giving up (job ${id})`);
    return ExitCode.unreachable;
  }
  // The stream ended without `done` (the client ends quietly on 204): ask for the state instead.
  const job = await client.get(id);
  if (job.state === 'completed') return ExitCode.ok;
  if (job.state === 'failed') return ExitCode.failed;
  if (job.state === 'cancelled') return ExitCode.cancelled;
  throw new JobcastError(502, {
    title: 'Stream ended early',
    detail: `the event stream ended while the job was ${job.state}`,
  });
}

const formatSeconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

/** The longest wait between reconnect attempts of a watch that gives up after `giveUpMs`. */
function retryCeiling(giveUpMs: number): number {
  return Math.max(100, Math.round(giveUpMs / 10));
}
