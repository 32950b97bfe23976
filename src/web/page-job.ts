/**
 * @module web/page-job
 * What the page knows about one of its jobs, how stream events and REST resources update it,
 * and how it is saved in localStorage so a reload brings the page's jobs back.
 *
 * Browser code: bundled by `web/assets`, never imported by the server.
 */
import type { JobResource, JobState, WatchEvent } from '../../packages/client/src/index.js';

export interface PageJob {
  id: string;
  state: JobState;
  /** 0–100. */
  progress: number;
  message: string | undefined;
  /** Why the job failed or was cancelled. */
  error: string | undefined;
  /** seq of the last event seen: the resume cursor of this job on the shared stream. */
  cursor: number;
  /** What was asked for, e.g. "10 steps × 200 ms" (the job resource does not carry its input). */
  label: string;
  createdAt: string;
}

export const isFinished = (job: Pick<PageJob, 'state'>): boolean =>
  job.state === 'completed' || job.state === 'failed' || job.state === 'cancelled';

/** "3 queued · 2 running · 1 completed · 1 failed", or "No jobs yet": a list's jobs by state. */
export function summarize(states: readonly JobState[]): string {
  const count = (which: JobState) => states.filter((state) => state === which).length;
  const parts: [number, string][] = [
    [count('queued'), 'queued'],
    [count('active'), 'running'],
    [count('completed'), 'completed'],
    [count('failed'), 'failed'],
    [count('cancelled'), 'cancelled'],
  ];
  const said = parts.filter(([n]) => n > 0).map(([n, what]) => `${n} ${what}`);
  return said.length ? said.join(' · ') : 'No jobs yet';
}

export function fromResource(resource: JobResource, label: string, cursor = 0): PageJob {
  return {
    id: resource.id,
    state: resource.state,
    progress: resource.progress,
    message: resource.message,
    error: resource.error,
    cursor,
    label,
    createdAt: resource.createdAt,
  };
}

/** Takes a fresher resource (GET) into a job, keeping what only the page knows. */
export function refresh(job: PageJob, resource: JobResource): void {
  // A stream event may already have moved the job past what a slower GET saw.
  if (isFinished(job) && !isFinished(resource)) return;
  job.state = resource.state;
  job.progress = resource.progress;
  job.message = resource.message ?? job.message;
  job.error = resource.error;
}

/** Applies one stream event; returns false when it changed nothing visible. */
export function applyEvent(job: PageJob, event: WatchEvent): boolean {
  if (event.seq > job.cursor) job.cursor = event.seq;
  switch (event.type) {
    case 'progress':
      // Once finished, a job stays finished: a late snapshot must not bring it back.
      if (isFinished(job)) return false;
      job.state = event.data.state;
      job.progress = event.data.progress;
      job.message = event.data.message ?? job.message;
      return true;
    case 'done':
      job.state = event.data.status;
      if (event.data.status === 'completed') job.progress = 100;
      job.error = event.data.error;
      return true;
    case 'log':
    case 'reset':
    // The page drops a gone job (see app.ts): nothing to draw here.
    case 'gone':
      return false;
  }
}

// ---- persistence ----

const STORAGE_KEY = 'jobcast.page.jobs.v1';
const STATES: readonly string[] = ['queued', 'active', 'completed', 'failed', 'cancelled'];

/** The page's jobs as last saved, newest first; anything malformed is skipped. */
export function loadJobs(storage: Storage): PageJob[] {
  let raw: unknown;
  try {
    raw = JSON.parse(storage.getItem(STORAGE_KEY) ?? '[]');
  } catch {
    return [];
  }
  if (!Array.isArray(raw)) return [];
  return raw.filter(isSavedJob).map((saved) => ({
    id: saved.id,
    state: saved.state,
    progress: saved.progress,
    message: saved.message,
    error: saved.error,
    cursor: saved.cursor,
    label: saved.label,
    createdAt: saved.createdAt,
  }));
}

export function saveJobs(storage: Storage, jobs: readonly PageJob[]): void {
  try {
    storage.setItem(STORAGE_KEY, JSON.stringify(jobs));
  } catch {
    // Storage full or disabled (private mode): the page still works, it just forgets on reload.
  }
}

function isSavedJob(value: unknown): value is PageJob {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.id === 'string' &&
    typeof v.state === 'string' &&
    STATES.includes(v.state) &&
    typeof v.progress === 'number' &&
    typeof v.cursor === 'number' &&
    typeof v.label === 'string' &&
    typeof v.createdAt === 'string' &&
    (v.message === undefined || typeof v.message === 'string') &&
    (v.error === undefined || typeof v.error === 'string')
  );
}
