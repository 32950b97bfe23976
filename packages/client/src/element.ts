/**
 * @module element
 * `<jobcast-progress>`: a framework-free custom element that shows jobs live — an accessible
 * progress bar, the state, the latest message, the time left or the place in the queue and the
 * expected start when the service reports them, a stall note, the handler's details — and
 * resumes by itself after a lost connection.
 *
 * Attributes: `job="ID"` or `jobs="ID1,ID2"`, `base-url` (default: the page's origin), `token`
 * (a stream token, for a page without a key), `label` (what the bar is called; default: the
 * job id). Property: `client`, a `JobcastClient` to use instead (with an API key, say), or
 * `null` to show what `seed()` gave without watching yet.
 *
 * Elements that share a client (or the same `base-url` and `token`) share ONE connection,
 * however many there are: browsers allow about six HTTP/1.1 connections per origin.
 *
 * It renders into its own light DOM (no shadow root, no inline styles: it runs under a strict
 * Content-Security-Policy and the page's CSS styles it): `.jobcast-job` per job (with
 * `data-job-id`, `data-state`, and the class `stalled` while a running job has gone quiet) holding
 * `progress.bar`, `.percent`, `.badge` (the state, a polite live region: it says "Stalled" while
 * stalled), `.message`, `.eta` (time left, or place in the queue and expected start), `.stall`
 * ("no report for 12 s") and `.details` (the handler's details, a few fields as one line of
 * text); the last three are `hidden` when empty. Events (bubbling, composed):
 * `jobcast-progress`, `jobcast-log`, `jobcast-done` (detail: the client's `WatchEvent`,
 * `{ type, jobId, seq, data }`; a progress event's data carries `rate`, `eta`, `queuePosition`,
 * `expectedStartAt`, `stalled`, `details` when they apply), `jobcast-connection` (detail:
 * `{ state }`), `jobcast-error` (detail: `{ error, jobId? }`: 404 for a job the service does not
 * know, 401 for a refused key).
 *
 * @example
 * <script type="module">import '@jobcast/client/element';</script>
 * <jobcast-progress job="0b6f3e9c-…"></jobcast-progress>
 */
import { JobcastClient, JobcastError, type WatchEvent } from './index.js';
import {
  applyDerived,
  applyDone,
  applyProgress,
  createRow,
  type Derived,
  isFinished,
  type JobView,
  renderRow,
} from './job-view.js';
import type { ConnectionState } from './shared-stream.js';
import { type GroupMember, StreamGroup } from './stream-group.js';
import type { JobResource } from './types.js';

/** Clients built from attributes, one per base URL and token, so their elements share a stream. */
const attributeClients = new Map<string, JobcastClient>();

export class JobcastProgressElement extends HTMLElement implements GroupMember {
  static readonly observedAttributes = ['job', 'jobs', 'base-url', 'token', 'label'];

  #client: JobcastClient | null | undefined;
  #group: StreamGroup | undefined;
  #jobs = new Map<string, JobView>();
  #connection: ConnectionState = 'idle';
  #ticker: ReturnType<typeof setInterval> | undefined;

  /** The client to watch with (overrides `base-url` and `token`); elements sharing it share a stream. */
  get client(): JobcastClient | null {
    if (this.#client !== undefined) return this.#client;
    const baseUrl = this.getAttribute('base-url') ?? location.origin;
    const token = this.getAttribute('token') ?? undefined;
    const key = `${baseUrl}\n${token ?? ''}`;
    let client = attributeClients.get(key);
    if (!client) {
      client = new JobcastClient({ baseUrl, ...(token ? { streamToken: token } : {}) });
      attributeClients.set(key, client);
    }
    return client;
  }

  set client(client: JobcastClient | null | undefined) {
    this.#client = client;
    if (this.isConnected) this.#reconnect();
  }

  /** The ids shown, from `job` or `jobs`. */
  get jobIds(): string[] {
    const list = this.getAttribute('jobs') ?? this.getAttribute('job') ?? '';
    return [
      ...new Set(
        list
          .split(',')
          .map((id) => id.trim())
          .filter(Boolean),
      ),
    ];
  }

  /** The connection state of this element's stream. */
  get connectionState(): ConnectionState {
    return this.#connection;
  }

  connectedCallback(): void {
    this.#syncJobs();
    this.#reconnect();
  }

  disconnectedCallback(): void {
    this.#group?.remove(this);
    this.#group = undefined;
    clearInterval(this.#ticker);
    this.#ticker = undefined;
  }

  attributeChangedCallback(name: string, previous: string | null, value: string | null): void {
    if (previous === value) return;
    if (name === 'label') {
      this.#render();
    } else if (name === 'job' || name === 'jobs') {
      // Also before it is connected, so that `seed()` finds the jobs.
      this.#syncJobs();
      this.#group?.changed();
    } else if (this.isConnected) {
      this.#reconnect();
    }
  }

  /** Resume cursors of the jobs still running (for the shared stream). @internal */
  unfinishedCursors(): Record<string, number> {
    const cursors: Record<string, number> = {};
    for (const job of this.#jobs.values()) if (!isFinished(job)) cursors[job.id] = job.cursor;
    return cursors;
  }

  /** One event of the shared stream (for any job; this element keeps its own). @internal */
  receive(event: WatchEvent): void {
    const job = this.#jobs.get(event.jobId);
    if (!job) return;
    if (event.seq > job.cursor) job.cursor = event.seq;
    switch (event.type) {
      case 'progress':
        if (isFinished(job)) return;
        applyProgress(job, event.data);
        this.#emit('jobcast-progress', event);
        break;
      case 'log':
        this.#emit('jobcast-log', event);
        return;
      case 'done':
        // No restart: the server sends nothing more for a finished job, and ends the stream
        // once every job on it is done.
        applyDone(job, event.data);
        this.#emit('jobcast-done', event);
        break;
      case 'reset':
        return;
      case 'gone':
        // A multi-job stream says this job does not exist (any more): as a 404 would.
        this.missing(event.jobId);
        return;
    }
    this.#render();
  }

  /**
   * What the page already knows of a job (from a GET, or saved from an earlier visit), shown
   * until the stream says more. A finished job is not watched; an unfinished one resumes after
   * `cursor` (the seq of the last event seen).
   */
  seed(
    job: Pick<JobResource, 'id' | 'state' | 'progress' | 'message' | 'error'> & Derived & { cursor?: number },
  ): void {
    const view = this.#jobs.get(job.id);
    if (view?.state !== 'unknown') return;
    Object.assign(view, {
      state: job.state,
      progress: job.progress,
      message: job.message,
      error: job.error,
      cursor: job.cursor ?? 0,
    });
    applyDerived(view, job);
    this.#render();
    this.#group?.changed();
  }

  /** A fresher resource (from a GET). @internal */
  refresh(resource: JobResource): void {
    const job = this.#jobs.get(resource.id);
    if (!job || isFinished(job)) return;
    job.state = resource.state;
    job.progress = resource.progress;
    job.message = resource.message ?? job.message;
    job.error = resource.error;
    applyDerived(job, resource);
    this.#render();
  }

  /** The server does not know this job. @internal */
  missing(id: string): void {
    const job = this.#jobs.get(id);
    if (!job) return;
    job.missing = true;
    this.#emit('jobcast-error', { error: new JobcastError(404, { title: 'Job not found', status: 404 }), jobId: id });
    this.#render();
  }

  /** @internal */
  connection(state: ConnectionState): void {
    if (state === this.#connection) return;
    this.#connection = state;
    this.dataset.connection = state;
    this.#emit('jobcast-connection', { state });
    // Down or back: the rows say so (no time left counting down while nothing is heard).
    this.#render();
  }

  /** @internal */
  fail(error: unknown): void {
    this.#emit('jobcast-error', { error });
  }

  #reconnect(): void {
    this.#group?.remove(this);
    const client = this.client;
    this.#group = client ? StreamGroup.of(client) : undefined;
    this.#group?.add(this);
  }

  /** Keeps what is known of ids still listed, starts the new ones blank. */
  #syncJobs(): void {
    const ids = this.jobIds;
    const jobs = new Map<string, JobView>();
    for (const id of ids) {
      jobs.set(
        id,
        this.#jobs.get(id) ?? {
          id,
          state: 'unknown',
          progress: 0,
          message: undefined,
          error: undefined,
          cursor: 0,
          missing: false,
        },
      );
    }
    this.#jobs = jobs;
    this.#render();
  }

  #render(): void {
    const views = [...this.#jobs.values()];
    // Rows are reused in order, so a screen reader's place and a CSS transition survive updates.
    const rows = Array.from(this.children).filter((child) => child.classList.contains('jobcast-job'));
    for (const extra of rows.slice(views.length)) extra.remove();
    views.forEach((job, i) => {
      const row = rows[i] ?? this.appendChild(createRow());
      renderRow(row as HTMLElement, job, this.getAttribute('label'), views.length, this.#connection === 'reconnecting');
    });
    // An estimate ages, and so does a silence: redraw every second while one is shown.
    const ticking = views.some(
      (job) => !isFinished(job) && (job.eta !== undefined || job.expectedStartAt !== undefined || job.stalled),
    );
    if (ticking && !this.#ticker) this.#ticker = setInterval(() => this.#render(), 1_000);
    if (!ticking && this.#ticker) {
      clearInterval(this.#ticker);
      this.#ticker = undefined;
    }
  }

  #emit(type: string, detail: unknown): void {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'jobcast-progress': JobcastProgressElement;
  }
}

// Defined once, also when two copies of this module load.
if (typeof customElements !== 'undefined' && !customElements.get('jobcast-progress')) {
  customElements.define('jobcast-progress', JobcastProgressElement);
}
