/**
 * @module web/feed-view
 * The page's feed view: every job of the API key, started here or anywhere else (curl, a
 * script, another tab), listed as it is created and updated live, filtered by state and tag.
 *
 * The key's feed (`GET /events/feed`, `JobcastClient.feed`) says which jobs exist and when a new
 * one appears; each row's bar is a `<jobcast-progress>` element on the page's client, so it
 * watches its job by id over the page's one shared job stream and shows what only a watch by id
 * carries (the place in the queue, the expected start, the stall note). The view follows the
 * feed only while it is shown, and keeps at most {@link FEED_VIEW_MAX_JOBS} rows.
 *
 * Browser code: bundled by `web/assets`, never imported by the server.
 */
import '../../packages/client/src/element.js';
import type { JobcastProgressElement } from '../../packages/client/src/element.js';
import type {
  JobcastClient,
  JobResource,
  JobState,
  ProgressEvent,
  WatchEvent,
} from '../../packages/client/src/index.js';
import { isUnauthorized } from './api-key.js';
import { describeConnection } from './connection-indicator.js';
import { element } from './dom.js';
import { formatTime } from './job-list.js';
import { summarize } from './page-job.js';

/** Rows kept: past that, the oldest finished job goes first, then the oldest one. */
export const FEED_VIEW_MAX_JOBS = 50;
/** Jobs listed when the view opens, so it does not start empty while jobs are running. */
const BACKFILL_JOBS = 20;
const FINISHED: ReadonlySet<string> = new Set(['completed', 'failed', 'cancelled']);

export interface FeedViewOptions {
  /** The feed was refused (401) for `client`'s key: the page asks for another. */
  onUnauthorized(client: JobcastClient): void;
}

/** What a feed row starts from: a feed event's data, or a listed resource. */
type Seed = Pick<JobResource, 'id' | 'state' | 'progress' | 'message'> &
  Partial<Pick<JobResource, 'type' | 'tags' | 'createdAt' | 'error'>>;

interface Row {
  root: HTMLLIElement;
  progress: JobcastProgressElement;
  state: JobState;
}

export class FeedView {
  readonly #ui = {
    list: element<HTMLOListElement>('feed-list'),
    template: element<HTMLTemplateElement>('feed-template'),
    status: element('feed-status'),
    summary: element('feed-summary'),
    empty: element('feed-empty'),
    state: element<HTMLSelectElement>('feed-state'),
    tag: element<HTMLInputElement>('feed-tag'),
  };
  readonly #options: FeedViewOptions;
  /** Newest first, as on the page. */
  readonly #rows = new Map<string, Row>();
  /** The page's client while it holds an API key; the feed needs one. */
  #client: JobcastClient | undefined;
  #shown = false;
  #following: AbortController | undefined;

  constructor(options: FeedViewOptions) {
    this.#options = options;
    element('feed-example').textContent = [
      `curl -H "Authorization: Bearer $JOBCAST_API_KEY" -H 'content-type: application/json' \\`,
      `  -d '{"type":"simulate","data":{"steps":20,"stepMs":300},"tags":["demo"]}' ${location.origin}/jobs`,
    ].join('\n');
    const refilter = () => this.#restart();
    this.#ui.state.addEventListener('change', refilter);
    this.#ui.tag.addEventListener('change', refilter);
    this.#ui.tag.form?.addEventListener('submit', (event) => {
      event.preventDefault();
      refilter();
    });
    // A row's stripe follows its job's state, as its element hears it.
    const follow = (event: Event) => {
      const { data } = (event as CustomEvent<WatchEvent>).detail;
      const id = (event as CustomEvent<WatchEvent>).detail.jobId;
      const state = 'status' in data ? data.status : 'state' in data ? data.state : undefined;
      if (state) this.#setState(id, state);
    };
    this.#ui.list.addEventListener('jobcast-progress', follow);
    this.#ui.list.addEventListener('jobcast-done', follow);
    this.#draw();
  }

  /** The page's client now: one with a key follows the feed, `undefined` (no key) clears the view. */
  setClient(client: JobcastClient | undefined): void {
    this.#client = client;
    for (const row of this.#rows.values()) row.progress.client = client ?? null;
    this.#restart();
  }

  /** The view was shown or hidden: the feed is followed only while it is shown. */
  show(shown: boolean): void {
    if (shown === this.#shown) return;
    this.#shown = shown;
    this.#restart();
  }

  #restart(): void {
    this.#following?.abort();
    this.#following = undefined;
    this.#clear();
    const client = this.#client;
    if (!client || !this.#shown) {
      this.#status('idle');
      return;
    }
    const controller = new AbortController();
    this.#following = controller;
    void this.#follow(client, controller.signal);
  }

  async #follow(client: JobcastClient, signal: AbortSignal): Promise<void> {
    const state = this.#ui.state.value as JobState | '';
    const tag = this.#ui.tag.value.trim();
    this.#status('connecting');
    const events = client.feed({
      ...(state ? { state: [state] } : {}),
      ...(tag ? { tag: [tag] } : {}),
      signal,
      onConnection: (connection) => {
        if (!signal.aborted) this.#status(connection);
      },
    });
    // The feed starts now: the jobs already there come from a listing, below the new ones.
    const backfill = client.list(
      { limit: BACKFILL_JOBS, ...(state ? { state } : {}), ...(tag ? { tag } : {}) },
      { signal },
    );
    backfill.then(
      (page) => {
        if (signal.aborted) return;
        for (const job of page.items) if (!this.#rows.has(job.id)) this.#add(job, 'bottom');
        this.#draw();
      },
      () => {},
    );
    try {
      for await (const event of events) {
        if (signal.aborted) return;
        if (event.type === 'progress') this.#heard(event.jobId, event.data);
        else if (event.type === 'done') this.#finished(event.jobId, event.data.status, event.data.error);
      }
    } catch (error) {
      if (signal.aborted) return;
      this.#status('idle');
      if (isUnauthorized(error)) this.#options.onUnauthorized(client);
      else this.#ui.summary.textContent = `The feed stopped: ${error instanceof Error ? error.message : String(error)}`;
    }
  }

  /** A feed `progress` event: a new job gets a row at the top; a known one, its state. */
  #heard(id: string, data: ProgressEvent): void {
    if (this.#rows.has(id)) this.#setState(id, data.state);
    else {
      // A job's first event is its creation (a job seen later, mid-run, shows no time).
      const createdAt = data.state === 'queued' && data.progress === 0 ? data.at : undefined;
      this.#add({ id, ...data, createdAt }, 'top');
      this.#draw();
    }
  }

  /** A feed `done` event: a job seen only now (a state filter let its end through) is added finished. */
  #finished(id: string, status: JobState, error: string | undefined): void {
    if (this.#rows.has(id)) this.#setState(id, status);
    else {
      this.#add({ id, state: status, progress: status === 'completed' ? 100 : 0, message: undefined, error }, 'top');
      this.#draw();
    }
  }

  #add(job: Seed, where: 'top' | 'bottom'): void {
    const root = (this.#ui.template.content.cloneNode(true) as DocumentFragment).querySelector('li') as HTMLLIElement;
    const part = (selector: string) => root.querySelector(selector) as HTMLElement;
    const short = job.id.slice(0, 8);
    root.dataset.jobId = job.id;
    root.dataset.state = job.state;
    const title = part('.job-id');
    title.textContent = short;
    title.title = job.id;
    const params = part('.job-params');
    params.textContent = [job.type, job.createdAt ? formatTime(job.createdAt) : ''].filter(Boolean).join(' · ');
    for (const tag of job.tags ?? []) {
      const chip = document.createElement('span');
      chip.className = 'job-tag';
      chip.textContent = tag;
      params.append(chip);
    }
    const progress = document.createElement('jobcast-progress');
    // The client first, so that the element joins the page's stream as it connects.
    progress.client = this.#client ?? null;
    progress.setAttribute('job', job.id);
    progress.setAttribute('label', `Job ${short}${job.type ? ` (${job.type})` : ''}`);
    progress.seed(job);
    part('.job-progress').replaceWith(progress);
    if (where === 'top') this.#ui.list.prepend(root);
    else this.#ui.list.append(root);
    this.#rows.set(job.id, { root, progress, state: job.state });
    this.#bound();
  }

  #setState(id: string, state: JobState): void {
    const row = this.#rows.get(id);
    // Once finished, a row stays finished: a late restatement must not bring it back.
    if (!row || row.state === state || FINISHED.has(row.state)) return;
    row.state = state;
    row.root.dataset.state = state;
    this.#draw();
  }

  /** At most FEED_VIEW_MAX_JOBS rows: the oldest (lowest) finished one goes first, then the oldest. */
  #bound(): void {
    while (this.#rows.size > FEED_VIEW_MAX_JOBS) {
      const items = (Array.from(this.#ui.list.children) as HTMLElement[]).reverse();
      const oldest = items.find((item) => FINISHED.has(item.dataset.state ?? '')) ?? items[0];
      if (!oldest) return;
      oldest.remove();
      this.#rows.delete(oldest.dataset.jobId ?? '');
    }
  }

  #clear(): void {
    for (const row of this.#rows.values()) row.root.remove();
    this.#rows.clear();
    this.#draw();
  }

  #draw(): void {
    const rows = [...this.#rows.values()];
    this.#ui.summary.textContent = summarize(rows.map((row) => row.state));
    this.#ui.empty.hidden = rows.length > 0;
  }

  #status(state: 'idle' | 'connecting' | 'live' | 'reconnecting'): void {
    this.#ui.status.dataset.connection = state;
    this.#ui.status.textContent = state === 'idle' ? 'Not following' : describeConnection(state);
  }
}
