/**
 * @module jobs/events
 * The public JSON of stream events, built in one place whatever produced them (a live
 * message from Redis, or a record read on connect), plus the parser of channel messages.
 */
import { type DoneEvent, JobState, type LogEvent, type StreamEventName, type TerminalStatus } from './schemas.js';

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

/**
 * The last two seconds {@link iso} formatted, with their `YYYY-MM-DDTHH:MM:SS.`: a running
 * job's event has two times (`at`, and `eta` seconds later) that alternate.
 */
const isoSeconds = [Number.NaN, Number.NaN];
const isoPrefixes = ['', ''];
let isoOldest = 0;

/** Timestamps before year 10000 and after 1970 have the fixed `YYYY-MM-DDTHH:MM:SS.mmmZ` form. */
const ISO_FIXED_UNTIL_MS = 253_402_300_800_000;

/**
 * A millisecond timestamp, as Redis keeps it, in the API's ISO 8601 form.
 *
 * Every progress event goes through here once per API process, and `toISOString` was a fifth
 * of the hub's own work per event with one watcher per job (docs/performance.md): events come
 * in bursts within the same second, so the date and time up to the second are kept from the
 * last calls and only the milliseconds are written. The same result as `toISOString`.
 */
export function iso(ms: string | number): string {
  const n = Number(ms);
  if (!(n >= 0 && n < ISO_FIXED_UNTIL_MS && Number.isInteger(n))) return new Date(n).toISOString();
  const second = Math.floor(n / 1000);
  let slot = isoSeconds[0] === second ? 0 : isoSeconds[1] === second ? 1 : -1;
  if (slot < 0) {
    slot = isoOldest;
    isoOldest = 1 - slot;
    isoSeconds[slot] = second;
    isoPrefixes[slot] = new Date(second * 1000).toISOString().slice(0, 20);
  }
  const milli = n - second * 1000;
  return `${isoPrefixes[slot]}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}

/** A tuple's JSON fields (from `cjson` or JSON.stringify), tolerating the older five-field form. */
export function readTuple(tupleJson: string): ProgressTuple {
  const fields = JSON.parse(tupleJson) as string[];
  while (fields.length < 9) fields.push('');
  return fields as ProgressTuple;
}

/**
 * A progress message's payload, split: the tuple's JSON, and the public event's JSON as the
 * record script wrote it (`jobs/scripts/record-prelude`), without what the hub works out
 * (undefined from a script of an earlier version, which sent the tuple alone).
 */
export function splitProgress(payload: string): { tupleJson: string; ready: string | undefined } {
  const nl = payload.indexOf('\n');
  if (nl < 0) return { tupleJson: payload, ready: undefined };
  return { tupleJson: payload.slice(0, nl), ready: payload.slice(nl + 1) };
}

/** The state a tuple's JSON starts with (`["active",…`), without parsing the rest. */
export function tupleState(tupleJson: string): string {
  // States are plain words: nothing in them is escaped.
  const end = tupleJson.indexOf('"', 2);
  return tupleJson.startsWith('["') && end > 2 ? tupleJson.slice(2, end) : readTuple(tupleJson)[0];
}

/**
 * The `progress` event's JSON, the text `JSON.stringify` gives for the event object
 * (`{jobId, state, progress, message?, attempt, at, rate?, eta?, details?, queuePosition?,
 * expectedStartAt?, stalled?, type?, tags?}`, in that order; a property test holds them equal).
 * Written out because every live progress event is built here once per API process, and with
 * one watcher per job the object and its serialisation were the largest part of the hub's own
 * work per event (docs/performance.md, "many jobs").
 */
export function progressData(
  jobId: string,
  [state, progress, attempt, atMs, message, rate, etaMs, details]: ProgressTuple,
  derived: DerivedProgress = {},
  labels?: FeedLabels,
): string {
  // `iso()` writes only digits, `-`, `+`, `:`, `T`, `.` and `Z`: nothing JSON escapes.
  let json = `{"jobId":${JSON.stringify(jobId)},"state":${STATE_JSON.get(state) ?? JSON.stringify(state)},"progress":${jsonNumber(progress)}`;
  if (message) json += `,"message":${JSON.stringify(message)}`;
  json += `,"attempt":${jsonNumber(attempt)},"at":"${iso(atMs)}"`;
  // Pace while running only: a queued or finished job has no rate.
  if (state === 'active' && rate) {
    json += `,"rate":${jsonNumber(rate)}`;
    // A stalled job has no ETA: the last one is past, or soon will be, with nothing to move it.
    if (etaMs && derived.stalled !== true) json += `,"eta":"${iso(etaMs)}"`;
  }
  // Kept as the worker's JSON; parsed and written again, as the object form did (same spacing, same key order).
  if (details) json += `,"details":${JSON.stringify(JSON.parse(details))}`;
  json += derivedFields(state, derived);
  if (labels) {
    json += `,"type":${JSON.stringify(labels.type)}`;
    if (labels.tags.length > 0) json += `,"tags":${JSON.stringify(labels.tags)}`;
  }
  return `${json}}`;
}

/**
 * The progress event's JSON from the public JSON its record script wrote (`splitProgress`),
 * with what the hub worked out added where {@link progressData} puts it: the same text.
 */
export function withDerived(ready: string, state: string, derived: DerivedProgress): string {
  const fields = derivedFields(state, derived);
  if (!fields) return ready;
  // A stalled job has no ETA. (Not met live — a report that just came makes a job not stalled —
  // but the two writings stay the same text.) `eta` follows `rate`, and both come before
  // `details`, the only part a handler's own keys could be in.
  const head = derived.stalled === true ? withoutEta(ready) : ready;
  return `${head.slice(0, -1)}${fields}}`;
}

/** `json` without its top-level `"eta"` (the one right after `"rate"`, before any `"details"`). */
function withoutEta(json: string): string {
  const details = json.indexOf(',"details":');
  const match = /,"rate":[-+.\deE]+(,"eta":"[^"]*")/.exec(details < 0 ? json : json.slice(0, details));
  if (!match?.[1]) return json;
  const at = match.index + match[0].length - match[1].length;
  return json.slice(0, at) + json.slice(at + match[1].length);
}

/** What a state's progress event shows of its derived progress, as JSON fields (`,"…":…`). */
function derivedFields(state: string, derived: DerivedProgress): string {
  let json = '';
  if (state === 'queued') {
    if (derived.queuePosition !== undefined) json += `,"queuePosition":${jsonNumber(derived.queuePosition)}`;
    if (derived.expectedStartAt !== undefined) json += `,"expectedStartAt":"${iso(derived.expectedStartAt)}"`;
  }
  if (state === 'active' && derived.stalled !== undefined) json += `,"stalled":${derived.stalled}`;
  return json;
}

/**
 * {@link iso}, or '' for a time it cannot write (`toISOString` throws past ±8.64e15 ms): the
 * record scripts then leave the public JSON to the hub, which reports what it cannot read.
 */
export function isoOrNone(ms: number | undefined): string {
  if (ms === undefined) return '';
  try {
    return iso(ms);
  } catch {
    return '';
  }
}

/** The states' JSON strings, written once rather than per event. */
const STATE_JSON = new Map<string, string>(JobState.options.map((s) => [s, JSON.stringify(s)]));

/** A number (or one kept as a string in Redis) as JSON writes it: `null` for what is not finite. */
function jsonNumber(value: string | number): string {
  const n = Number(value);
  return Number.isFinite(n) ? String(n) : 'null';
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
