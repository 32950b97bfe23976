/**
 * @module job-view
 * What `<jobcast-progress>` knows of one job, how stream events change it, and how one job's
 * row is drawn: the bar with its accessible name and spoken value, the percentage, the state,
 * a line saying what the job does or how it ended, and the time left or the place in the queue
 * when the service reports them.
 */
import type { DoneEvent, JobState, ProgressEvent } from './types.js';

/** Fields that progress events may carry besides the basic ones (derived progress). */
export interface Derived {
  /** When the job is expected to finish (ISO time). */
  eta?: string;
  /** Percent per second, smoothed. */
  rate?: number;
  /** 1 = next to run. */
  queuePosition?: number;
}

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

export function applyProgress(job: JobView, data: ProgressEvent & Derived): void {
  job.state = data.state;
  job.progress = data.progress;
  job.message = data.message ?? job.message;
  job.eta = typeof data.eta === 'string' ? data.eta : undefined;
  job.rate = typeof data.rate === 'number' ? data.rate : undefined;
  job.queuePosition = typeof data.queuePosition === 'number' ? data.queuePosition : undefined;
}

export function applyDone(job: JobView, data: DoneEvent): void {
  job.state = data.status;
  if (data.status === 'completed') job.progress = 100;
  job.error = data.error;
  job.eta = undefined;
  job.queuePosition = undefined;
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
  return row;
}

export function renderRow(row: HTMLElement, job: JobView, label: string | null, count: number): void {
  const [bar, percent, badge, message, eta] = Array.from(row.children) as [
    HTMLProgressElement,
    HTMLElement,
    HTMLElement,
    HTMLElement,
    HTMLElement,
  ];
  const whole = Math.floor(job.progress);
  const state = job.missing ? 'Not found' : STATE_LABELS[job.state];
  const timing = describeTiming(job);
  row.dataset.jobId = job.id;
  row.dataset.state = job.missing ? 'missing' : job.state;
  bar.value = job.progress;
  bar.setAttribute(
    'aria-label',
    label && count === 1 ? label : `${label ? `${label}: ` : ''}job ${job.id.slice(0, 8)}`,
  );
  bar.setAttribute('aria-valuetext', [`${whole}%`, state, timing].filter(Boolean).join(' — '));
  percent.textContent = `${whole}%`;
  badge.textContent = state;
  message.textContent = describe(job);
  eta.textContent = timing;
  eta.hidden = timing === '';
}

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

/** "about 12 s left", "next in the queue", "3rd in the queue" — or nothing to say. */
export function describeTiming(job: JobView): string {
  if (isFinished(job)) return '';
  if (job.state === 'queued' && job.queuePosition !== undefined) {
    return job.queuePosition <= 1 ? 'next in the queue' : `${ordinal(job.queuePosition)} in the queue`;
  }
  if (job.eta) {
    const seconds = Math.max(0, Math.round((Date.parse(job.eta) - Date.now()) / 1000));
    if (Number.isFinite(seconds)) return `about ${duration(seconds)} left`;
  }
  return '';
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
