/**
 * @module web/page-jobs
 * The jobs started on this page, newest first, kept in localStorage (every tab of this browser
 * shares them) so a reload brings them back: saved once per burst of events, and at once when
 * the page is left or signed out.
 *
 * Browser code: bundled by `web/assets`, never imported by the server.
 */
import { isFinished, loadJobs, type PageJob, saveJobs } from './page-job.js';

/** A burst of events (twelve jobs reporting at once) becomes one write. */
const SAVE_DELAY_MS = 250;

export class PageJobs {
  readonly #storage: Storage;
  #jobs: PageJob[];
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** The jobs as last saved in `storage`. */
  constructor(storage: Storage) {
    this.#storage = storage;
    this.#jobs = loadJobs(storage);
  }

  /** Newest first. */
  get all(): readonly PageJob[] {
    return this.#jobs;
  }

  get anyUnfinished(): boolean {
    return this.#jobs.some((job) => !isFinished(job));
  }

  find(id: string): PageJob | undefined {
    return this.#jobs.find((job) => job.id === id);
  }

  /** A job just started: at the top. */
  add(job: PageJob): void {
    this.#jobs.unshift(job);
    this.saveSoon();
  }

  /** Takes off the jobs `which` picks; returns them. */
  drop(which: (job: PageJob) => boolean): PageJob[] {
    const dropped = this.#jobs.filter(which);
    this.#jobs = this.#jobs.filter((job) => !which(job));
    this.saveSoon();
    return dropped;
  }

  saveSoon(): void {
    this.#timer ??= setTimeout(() => this.saveNow(), SAVE_DELAY_MS);
  }

  saveNow(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    saveJobs(this.#storage, this.#jobs);
  }
}
