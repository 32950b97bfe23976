/**
 * @module job-view
 * What `<jobcast-progress>` knows of one job, how stream events change it, and how one job's
 * row is drawn: the bar with its accessible name and spoken value, the percentage, the state,
 * a line saying what the job does or how it ended, the time left or the place in the queue and
 * expected start when the service reports them, a stall note while a running job has gone
 * quiet, and the handler's `details` in one short line. Server data only ever reaches the page
 * as text (`textContent`), never as markup.
 */
import type { DoneEvent, JobResource, JobState, ProgressEvent } from './types.js';

/** Fields that progress events and the resource may carry besides the basic ones (derived progress). */
export interface Derived {
  /** When the job is expected to finish (ISO time). */
  eta?: string | undefined;
  /** Percent per second, smoothed. */
  rate?: number | undefined;
  /** 1 = next to run. */
  queuePosition?: number | undefined;
  /** When a queued job is expected to start (ISO time). */
  expectedStartAt?: string | undefined;
  /** A running job has reported nothing for longer than usual. */
  stalled?: boolean | undefined;
  /** When the job last reported (the event's `at`): how long a stalled job has been quiet. */
  reportedAt?: string | undefined;
  /** The handler's latest details (a small JSON object). */
  details?: Record<string, unknown> | undefined;
}

/** At most this many `details` fields are shown, each value cut to `DETAIL_VALUE_CHARS`. */
const DETAIL_FIELDS = 4;
const DETAIL_VALUE_CHARS = 40;

/** What the element knows of one job. */
export interface JobView extends Derived {
  id: string;
  state: JobState | 'unknown';
  progress: number;
  message: string | undefined;
  error: string | undefined;
  /** seq of the last event seen: this job's resume cursor. */
  cursor: number;
  /** The server does not know this job (404). */
  missing: boolean;
}

const STATE_LABELS: Record<JobView['state'], string> = {
  unknown: 'Connecting…',
  queued: 'Queued',
  active: 'Running',
  completed: 'Completed',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

const FINISHED = new Set(['completed', 'failed', 'cancelled']);
export const isFinished = (job: JobView) => job.missing || FINISHED.has(job.state);

export function applyProgress(job: JobView, data: ProgressEvent): void {
  job.state = data.state;
  job.progress = data.progress;
  job.message = data.message ?? job.message;
  job.reportedAt = data.at;
  applyDerived(job, data);
}

/** The derived fields of an event or a resource: each one present now, or gone. */
export function applyDerived(job: JobView, data: Derived | ProgressEvent | JobResource): void {
  job.eta = typeof data.eta === 'string' ? data.eta : undefined;
  job.rate = typeof data.rate === 'number' ? data.rate : undefined;
  job.queuePosition = typeof data.queuePosition === 'number' ? data.queuePosition : undefined;
  job.expectedStartAt = typeof data.expectedStartAt === 'string' ? data.expectedStartAt : undefined;
  job.stalled = data.stalled === true;
  // Details are kept until the handler reports others: an event without them changes nothing.
  if (isObject(data.details)) job.details = data.details;
}

export function applyDone(job: JobView, data: DoneEvent): void {
  job.state = data.status;
  if (data.status === 'completed') job.progress = 100;
  job.error = data.error;
  job.eta = undefined;
  job.queuePosition = undefined;
  job.expectedStartAt = undefined;
  job.stalled = false;
}

export function createRow(): HTMLElement {
  const row = document.createElement('div');
  row.className = 'jobcast-job';
  const part = (tag: string, className: string) => {
    const element = document.createElement(tag);
    element.className = className;
    row.append(element);
    return element;
  };
  const bar = part('progress', 'bar') as HTMLProgressElement;
  bar.max = 100;
  part('span', 'percent');
  // The state is announced when it changes; the bar and the message are read on demand.
  part('span', 'badge').setAttribute('role', 'status');
  part('span', 'message');
  part('span', 'eta');
  // A stall is announced through the badge (it says "Stalled"); this note counts the silence.
  part('span', 'stall');
  part('span', 'details');
  return row;
}

/**
 * `offline`: the element's connection is down (reconnecting). What it shows is then as last
 * heard: no time left counting down as if the job went on, but "reconnecting…" in its place.
 */
export function renderRow(row: HTMLElement, job: JobView, label: string | null, count: number, offline = false): void {
  const [bar, percent, badge, message, eta, stall, details] = Array.from(row.children) as HTMLElement[] as [
    HTMLProgressElement,
    HTMLElement,
    HTMLElement,
    HTMLElement,
    HTMLElement,
    HTMLElement,
    HTMLElement,
  ];
  const whole = Math.floor(job.progress);
  const stalled = isStalled(job);
  const state = job.missing ? 'Not found' : stalled ? 'Stalled' : STATE_LABELS[job.state];
  const timing = offline && !isFinished(job) ? 'reconnecting…' : describeTiming(job);
  const quiet = stalled ? describeStall(job) : '';
  const facts = isFinished(job) ? '' : describeDetails(job.details);
  row.dataset.jobId = job.id;
  row.dataset.state = job.missing ? 'missing' : job.state;
  row.classList.toggle('stalled', stalled);
  bar.value = job.progress;
  bar.setAttribute(
    'aria-label',
    label && count === 1 ? label : `${label ? `${label}: ` : ''}job ${job.id.slice(0, 8)}`,
  );
  bar.setAttribute('aria-valuetext', [`${whole}%`, state, timing, quiet].filter(Boolean).join(' — '));
  percent.textContent = `${whole}%`;
  setText(badge, state);
  setText(message, describe(job));
  show(eta, timing);
  show(stall, quiet);
  show(details, facts);
}

/** Writes only a change: a live region re-announces any write, and a redraw runs every second. */
function setText(element: HTMLElement, text: string): void {
  if (element.textContent !== text) element.textContent = text;
}

function show(element: HTMLElement, text: string): void {
  setText(element, text);
  element.hidden = text === '';
}

export const isStalled = (job: JobView): boolean => job.state === 'active' && job.stalled === true && !job.missing;

/** The line under the bar: what the job is doing, or how it ended. */
function describe(job: JobView): string {
  if (job.missing) return 'The service does not know this job (it may have expired).';
  switch (job.state) {
    case 'unknown':
      return '';
    case 'queued':
      return job.message ?? 'Waiting for a worker…';
    case 'active':
      return job.message ?? 'Starting…';
    case 'completed':
      return job.message ? `Done — ${job.message}` : 'Done';
    case 'failed':
      return job.error ?? 'Failed';
    case 'cancelled':
      return job.message ? `Cancelled at ${job.message}` : 'Cancelled';
  }
}

/**
 * "about 12 s left", "3rd in the queue · starts in ~40 s", "next in the queue · starts soon",
 * "starts in ~2 min" (a delayed job) — or nothing to say.
 */
export function describeTiming(job: JobView, now = Date.now()): string {
  if (isFinished(job)) return '';
  if (job.state === 'queued') {
    const place =
      job.queuePosition === undefined
        ? ''
        : job.queuePosition <= 1
          ? 'next in the queue'
          : `${ordinal(job.queuePosition)} in the queue`;
    const seconds = secondsUntil(job.expectedStartAt, now);
    const start = seconds === undefined ? '' : seconds >= 1 ? `starts in ~${duration(seconds)}` : 'starts soon';
    return [place, start].filter(Boolean).join(' · ');
  }
  if (job.state === 'active' && job.eta && !isStalled(job)) {
    const seconds = secondsUntil(job.eta, now);
    if (seconds !== undefined) return `about ${duration(seconds)} left`;
  }
  return '';
}

/** "no report for 12 s" (from the last report's time), or "no report for a while" without one. */
export function describeStall(job: JobView, now = Date.now()): string {
  const since = job.reportedAt ? Date.parse(job.reportedAt) : Number.NaN;
  if (!Number.isFinite(since)) return 'no report for a while';
  return `no report for ${duration(Math.max(0, Math.round((now - since) / 1000)))}`;
}

/** `files: 12 · phase: "upload"`-like: the first few fields, each short, as plain text. */
export function describeDetails(details: Record<string, unknown> | undefined): string {
  if (!details) return '';
  return Object.entries(details)
    .slice(0, DETAIL_FIELDS)
    .map(
      ([key, value]) =>
        `${cut(key, DETAIL_VALUE_CHARS)}: ${cut(typeof value === 'string' ? value : (JSON.stringify(value) ?? ''), DETAIL_VALUE_CHARS)}`,
    )
    .join(' · ');
}

function cut(text: string, max: number): string {
  // Line breaks and control characters would break the one-line layout.
  const flat = text.replace(/\p{Cc}+/gu, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function secondsUntil(iso: string | undefined, now: number): number | undefined {
  if (!iso) return undefined;
  const seconds = Math.max(0, Math.round((Date.parse(iso) - now) / 1000));
  return Number.isFinite(seconds) ? seconds : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function duration(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 360) / 10} h`;
}

function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}
