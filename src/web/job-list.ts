/**
 * @module web/job-list
 * The list of jobs on the page: one row per job, cloned from `#job-template`, updated in place
 * as events arrive. Only text, attributes and classes are touched (never inline styles), so
 * the page runs under a `style-src 'self'` Content-Security-Policy.
 *
 * Browser code: bundled by `web/assets`, never imported by the server.
 */
import type { JobState } from '../client/index.js';
import { isFinished, type PageJob } from './page-job.js';

const STATE_LABELS: Record<JobState, string> = {
  queued: 'Queued',
  active: 'Running',
  completed: 'Completed',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

interface Row {
  root: HTMLLIElement;
  badge: HTMLElement;
  bar: HTMLProgressElement;
  percent: HTMLElement;
  message: HTMLElement;
  cancel: HTMLButtonElement;
}

export class JobList {
  readonly #list: HTMLOListElement;
  readonly #template: HTMLTemplateElement;
  readonly #rows = new Map<string, Row>();
  readonly #onCancel: (id: string) => void;

  constructor(list: HTMLOListElement, template: HTMLTemplateElement, onCancel: (id: string) => void) {
    this.#list = list;
    this.#template = template;
    this.#onCancel = onCancel;
  }

  /** Draws a job, adding its row at the top (newest first) if it is new. */
  show(job: PageJob, { cancelling = false } = {}): void {
    const row = this.#rows.get(job.id) ?? this.#add(job);
    const percent = Math.floor(job.progress);
    row.root.dataset.state = job.state;
    row.badge.textContent = STATE_LABELS[job.state];
    row.bar.value = job.progress;
    row.bar.setAttribute('aria-valuetext', `${percent}% — ${STATE_LABELS[job.state]}`);
    row.percent.textContent = `${percent}%`;
    row.message.textContent = describe(job);
    row.message.classList.toggle('is-error', job.state === 'failed');
    const finished = isFinished(job);
    row.cancel.disabled = finished || cancelling;
    row.cancel.textContent = cancelling && !finished ? 'Cancelling…' : 'Cancel';
  }

  /** Shows a short note under a job (e.g. a cancel that failed) until its next update. */
  note(id: string, text: string): void {
    const row = this.#rows.get(id);
    if (row) row.message.textContent = text;
  }

  remove(id: string): void {
    this.#rows.get(id)?.root.remove();
    this.#rows.delete(id);
  }

  #add(job: PageJob): Row {
    const fragment = this.#template.content.cloneNode(true) as DocumentFragment;
    const root = fragment.querySelector('li') as HTMLLIElement;
    const part = <T extends Element>(selector: string) => root.querySelector(selector) as T;
    root.dataset.jobId = job.id;
    const title = part<HTMLElement>('.job-id');
    title.textContent = job.id.slice(0, 8);
    title.title = job.id;
    title.id = `job-${job.id}`;
    part<HTMLElement>('.job-params').textContent = [job.label, formatTime(job.createdAt)].filter(Boolean).join(' · ');
    const row: Row = {
      root,
      badge: part('.badge'),
      bar: part('.bar'),
      percent: part('.percent'),
      message: part('.message'),
      cancel: part('.cancel'),
    };
    row.bar.setAttribute('aria-labelledby', title.id);
    row.cancel.setAttribute('aria-label', `Cancel job ${job.id.slice(0, 8)}`);
    row.cancel.addEventListener('click', () => this.#onCancel(job.id));
    this.#list.prepend(root);
    this.#rows.set(job.id, row);
    return row;
  }
}

function describe(job: PageJob): string {
  switch (job.state) {
    case 'queued':
      return 'Waiting for a worker…';
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

function formatTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? ''
    : date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}
