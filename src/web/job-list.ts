/**
 * @module web/job-list
 * The list of jobs on the page: one row per job, cloned from `#job-template`. Each row's bar,
 * percent, state and message are a `<jobcast-progress>` element (`@jobcast/client/element`),
 * the same drop-in element any page can use; the rows' elements share the page's client, and so
 * one event stream. The row adds what only the page has: the job's title, a cancel button, and
 * its log lines and result on demand. Only text, attributes and classes are touched (never
 * inline styles), so the page runs under a `style-src 'self'` Content-Security-Policy.
 *
 * Browser code: bundled by `web/assets`, never imported by the server.
 */
import '../../packages/client/src/element.js';
import type { JobcastProgressElement } from '../../packages/client/src/element.js';
import type { JobcastClient, JobLogs, JobResource } from '../../packages/client/src/index.js';
import { isFinished, type PageJob } from './page-job.js';

interface Row {
  root: HTMLLIElement;
  progress: JobcastProgressElement;
  cancel: HTMLButtonElement;
  details: HTMLDetailsElement;
  log: HTMLOListElement;
  result: HTMLElement;
}

export interface JobListOptions {
  onCancel(id: string): void;
  /** Fetches what the details show (the page's gate asks for a key when needed). */
  details(id: string): Promise<{ job: JobResource; logs: JobLogs }>;
}

export class JobList {
  readonly #list: HTMLOListElement;
  readonly #template: HTMLTemplateElement;
  readonly #rows = new Map<string, Row>();
  readonly #options: JobListOptions;
  /** null until the page has checked its saved jobs: rows show them, but watch nothing yet. */
  #client: JobcastClient | null = null;

  constructor(list: HTMLOListElement, template: HTMLTemplateElement, options: JobListOptions) {
    this.#list = list;
    this.#template = template;
    this.#options = options;
    // Live log lines of a job whose details are open.
    list.addEventListener('jobcast-log', (event) => {
      const { jobId, data } = (event as CustomEvent<{ jobId: string; data: { line: string } }>).detail;
      const row = this.#rows.get(jobId);
      if (row?.details.open) appendLine(row.log, data.line);
    });
  }

  /** Every row watches with `client` from now on (the first time, or a new API key): one stream, (re)opened. */
  setClient(client: JobcastClient): void {
    this.#client = client;
    for (const row of this.#rows.values()) row.progress.client = client;
  }

  /** Draws a job, adding its row at the top (newest first) if it is new. */
  show(job: PageJob, { cancelling = false } = {}): void {
    const row = this.#rows.get(job.id) ?? this.#add(job);
    row.root.dataset.state = job.state;
    const finished = isFinished(job);
    // A disabled button drops the focus to the page's start: a keyboard user who pressed Cancel
    // stays on this job (its details' summary).
    if ((finished || cancelling) && document.activeElement === row.cancel) {
      row.details.querySelector('summary')?.focus();
    }
    row.cancel.disabled = finished || cancelling;
    row.cancel.textContent = cancelling && !finished ? 'Cancelling…' : 'Cancel';
    // Finished while its details were open: the result is there now.
    if (finished && row.details.open && row.details.dataset.loadedState !== job.state) void this.#load(row, job.id);
  }

  /** Shows a short note under a job (e.g. a cancel that failed) until its next update. */
  note(id: string, text: string): void {
    const message = this.#rows.get(id)?.root.querySelector('.message');
    if (message) message.textContent = text;
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
    const progress = document.createElement('jobcast-progress');
    // The client first, so that the element joins the page's stream as it connects.
    progress.client = this.#client;
    progress.setAttribute('job', job.id);
    progress.setAttribute('label', `Job ${job.id.slice(0, 8)}`);
    progress.seed(job);
    part<HTMLElement>('.job-progress').replaceWith(progress);
    const row: Row = {
      root,
      progress,
      cancel: part('.cancel'),
      details: part('.job-details'),
      log: part('.log'),
      result: part('.result'),
    };
    row.cancel.setAttribute('aria-label', `Cancel job ${job.id.slice(0, 8)}`);
    row.cancel.addEventListener('click', () => this.#options.onCancel(job.id));
    row.details.addEventListener('toggle', () => {
      if (row.details.open) void this.#load(row, job.id);
    });
    this.#list.prepend(root);
    this.#rows.set(job.id, row);
    return row;
  }

  /** Fills a row's details: every log line kept, and the result (or why there is none yet). */
  async #load(row: Row, id: string): Promise<void> {
    row.details.setAttribute('aria-busy', 'true');
    try {
      const { job, logs } = await this.#options.details(id);
      row.log.replaceChildren();
      for (const { line } of logs.items) appendLine(row.log, line);
      row.log.dataset.empty = String(logs.items.length === 0);
      row.details.dataset.loadedState = job.state;
      row.result.textContent =
        job.state === 'completed'
          ? JSON.stringify(job.result ?? null, null, 2)
          : job.error
            ? `${job.state}: ${job.error}`
            : 'No result yet: the job has not finished.';
    } catch (error) {
      row.result.textContent = `Could not load the details: ${error instanceof Error ? error.message : String(error)}`;
    } finally {
      row.details.removeAttribute('aria-busy');
    }
  }
}

function appendLine(log: HTMLOListElement, line: string): void {
  const item = document.createElement('li');
  item.textContent = line;
  log.append(item);
  log.dataset.empty = 'false';
}

/** A time of day as this browser writes it, e.g. `14:03:27`; empty for an unreadable time. */
export function formatTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? ''
    : date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}
