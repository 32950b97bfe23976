/**
 * @module jobs/events
 * The public JSON of stream events, built in one place whatever produced them (a live
 * message from Redis, or a record read on connect), plus the parser of channel messages.
 */
import type { DoneEvent, JobState, LogEvent, ProgressEvent, StreamEventName, TerminalStatus } from './schemas.js';

/** One event of one job, as it travels from Redis to the streams. */
export interface JobEvent {
  jobId: string;
  seq: number;
  event: StreamEventName;
  /** The `data:` JSON, without line breaks. */
  data: string;
}

/**
 * The fields of a progress event, as kept in the record (all strings, as Redis has them; ''
 * for none): what the worker reported, the pace it worked out (`jobs/pace`), and the usual
 * interval between its reports, which the stall signal needs but the public event does not show.
 */
export type ProgressTuple = [
  state: string,
  progress: string,
  attempt: string,
  atMs: string,
  message: string,
  rate: string,
  etaMs: string,
  details: string,
  intervalMs: string,
];

/**
 * What is worked out about a job where its events pass rather than reported by its worker:
 * its place in the queue (see `jobs/queue-positions`) and the stall signal (`jobs/stall`).
 */
export interface DerivedProgress {
  queuePosition?: number | undefined;
  /** ms since the epoch. */
  expectedStartAt?: number | undefined;
  stalled?: boolean | undefined;
}

/** The job's type and tags: shown on the feed's progress events (`GET /events/feed`). */
export interface FeedLabels {
  type: string;
  tags: string[];
}

/** A millisecond timestamp, as Redis keeps it, in the API's ISO 8601 form. */
export const iso = (ms: string | number) => new Date(Number(ms)).toISOString();

/** A tuple's JSON fields (from `cjson` or JSON.stringify), tolerating the older five-field form. */
export function readTuple(payload: string): ProgressTuple {
  const fields = JSON.parse(payload) as string[];
  while (fields.length < 9) fields.push('');
  return fields as ProgressTuple;
}

export function progressData(
  jobId: string,
  [state, progress, attempt, atMs, message, rate, etaMs, details]: ProgressTuple,
  derived: DerivedProgress = {},
  labels?: FeedLabels,
): string {
  const data: ProgressEvent = {
    jobId,
    state: state as JobState,
    progress: Number(progress),
    ...(message ? { message } : {}),
    attempt: Number(attempt),
    at: iso(atMs),
  };
  // Pace while running only: a queued or finished job has no rate.
  if (state === 'active' && rate) {
    data.rate = Number(rate);
    if (etaMs) data.eta = iso(etaMs);
  }
  if (details) data.details = JSON.parse(details) as Record<string, unknown>;
  if (state === 'queued') {
    if (derived.queuePosition !== undefined) data.queuePosition = derived.queuePosition;
    if (derived.expectedStartAt !== undefined) data.expectedStartAt = iso(derived.expectedStartAt);
  }
  if (state === 'active' && derived.stalled !== undefined) data.stalled = derived.stalled;
  if (labels) {
    data.type = labels.type;
    if (labels.tags.length > 0) data.tags = labels.tags;
  }
  return JSON.stringify(data);
}

export function logData(jobId: string, line: string, atMs: number): string {
  return JSON.stringify({ jobId, line, at: iso(atMs) } satisfies LogEvent);
}

export function doneData(
  jobId: string,
  status: TerminalStatus,
  outcome: { result?: unknown; error?: string },
  atMs: number,
): string {
  const done: DoneEvent = { jobId, status, at: iso(atMs) };
  if (status === 'completed' && outcome.result !== undefined) done.result = outcome.result;
  if (status !== 'completed' && outcome.error !== undefined) done.error = outcome.error;
  return JSON.stringify(done);
}

/** A channel message, split: `<seq>\n<event>\n<payload>` (see `jobs/scripts`). */
export interface RawMessage {
  seq: number;
  event: string;
  payload: string;
}

/** Splits `<seq>\n<event>\n<payload>`; undefined for anything else. */
export function splitMessage(message: string): RawMessage | undefined {
  const a = message.indexOf('\n');
  const b = message.indexOf('\n', a + 1);
  if (a <= 0 || b < 0) return undefined;
  const seq = Number(message.slice(0, a));
  if (!Number.isSafeInteger(seq) || seq <= 0) return undefined;
  return { seq, event: message.slice(a + 1, b), payload: message.slice(b + 1) };
}

/**
 * Parses `<seq>\n<event>\n<payload>` (see `jobs/scripts`). Returns undefined for anything
 * else, so a stray publish on a job channel cannot break a stream.
 */
export function parseMessage(jobId: string, message: string): JobEvent | undefined {
  const raw = splitMessage(message);
  if (!raw) return undefined;
  const { seq, event, payload } = raw;
  switch (event) {
    case 'progress':
      return { jobId, seq, event, data: progressData(jobId, readTuple(payload)) };
    case 'log':
    case 'done':
      return { jobId, seq, event, data: payload };
    default:
      return undefined;
  }
}
