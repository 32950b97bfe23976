/**
 * @module cli/tty-view
 * `watch` on a terminal: one progress-bar line (`cli/bar`) redrawn in place (`\r` + clear
 * line), log lines printed above it, a final ✔/✖ line. Colour unless NO_COLOR. While the job
 * runs the bar counts its ETA down; while it waits, it shows its place in the queue and when it
 * is expected to start; a job gone quiet is marked `stalled`.
 */
import type { ProgressEvent, WatchEvent } from '../../packages/client/src/index.js';
import type { JobState } from '../jobs/schemas.js';
import { type BarState, barLine, statusNote } from './bar.js';
import type { ConnectionState, Output, WatchView } from './render.js';
import { outcomeText, sanitize } from './text.js';

const CLEAR_LINE = '\r\x1b[2K';
const SGR = { green: 32, red: 31, yellow: 33, dim: 2 } as const;
const RECONNECTING = 'reconnecting…';

/** How often the bar is redrawn while it counts an ETA down. */
const COUNTDOWN_MS = 1_000;

/** The terminal progress bar. */
export class TtyView implements WatchView {
  #state: BarState = { progress: 0, status: 'connecting…' };
  #jobState: JobState | undefined;
  /** The latest progress, for the note worked out anew at each redraw. */
  #progress: ProgressEvent | undefined;
  #countdown: ReturnType<typeof setInterval> | undefined;
  #down = false;
  #drawn = false;
  readonly #onResize = () => {
    if (this.#drawn) this.#draw();
  };

  constructor(
    private readonly out: Output,
    private readonly color: boolean,
  ) {
    out.on?.('resize', this.#onResize);
    this.#draw();
  }

  event(event: WatchEvent): void {
    switch (event.type) {
      case 'progress':
        this.#jobState = event.data.state;
        this.#progress = event.data;
        this.#state = { progress: event.data.progress, message: event.data.message, status: this.#status() };
        this.#tickWhile(event.data.eta !== undefined || event.data.expectedStartAt !== undefined);
        this.#draw();
        break;
      case 'log':
        this.#above(`${this.#paint('dim', 'log:')} ${sanitize(event.data.line)}`);
        break;
      case 'reset':
        this.#above(this.#paint('dim', `note: older log lines were not kept (${sanitize(event.data.reason)})`));
        break;
      case 'done': {
        const done = event.data;
        this.#jobState = done.status;
        this.#progress = undefined;
        this.#state = {
          progress: done.status === 'completed' ? 100 : this.#state.progress,
          message: this.#state.message,
          status: done.status,
        };
        this.#draw();
        const mark =
          done.status === 'completed'
            ? this.#paint('green', '✔')
            : done.status === 'failed'
              ? this.#paint('red', '✖')
              : this.#paint('yellow', '■');
        this.out.write(`\n${mark} ${outcomeText(done)}\n`);
        this.#stop();
        break;
      }
    }
  }

  connection(state: ConnectionState): void {
    this.#down = state === 'reconnecting';
    this.#state = { ...this.#state, status: this.#status() };
    this.#draw();
  }

  abandon(): void {
    // Keep a bar that shows something; wipe the placeholder drawn before the first event.
    if (this.#drawn) this.out.write(this.#jobState ? '\n' : CLEAR_LINE);
    this.#stop();
  }

  #status(): string {
    return this.#down ? RECONNECTING : (this.#jobState ?? 'connecting…');
  }

  /** Redraws every second while there is a time to count down (`12s left`, `starts in ~20s`). */
  #tickWhile(counting: boolean): void {
    if (counting && !this.#countdown) {
      this.#countdown = setInterval(() => this.#draw(), COUNTDOWN_MS);
      this.#countdown.unref?.();
    } else if (!counting && this.#countdown) {
      clearInterval(this.#countdown);
      this.#countdown = undefined;
    }
  }

  #draw(): void {
    const note = this.#progress && !this.#down ? statusNote(this.#progress, Date.now()) : undefined;
    let line = barLine({ ...this.#state, note }, this.out.columns || 80);
    // Fitted as plain text, then painted: colour codes take no columns.
    const at = line.lastIndexOf(`(${RECONNECTING})`);
    if (this.#down && at >= 0) {
      line = `${line.slice(0, at + 1)}${this.#paint('yellow', RECONNECTING)}${line.slice(at + 1 + RECONNECTING.length)}`;
    }
    this.out.write(`${CLEAR_LINE}${line}`);
    this.#drawn = true;
  }

  #above(text: string): void {
    this.out.write(`${CLEAR_LINE}${text}\n`);
    this.#draw();
  }

  #stop(): void {
    this.out.off?.('resize', this.#onResize);
    this.#tickWhile(false);
    this.#drawn = false;
  }

  #paint(color: keyof typeof SGR, text: string): string {
    return this.color ? `\x1b[${SGR[color]}m${text}\x1b[0m` : text;
  }
}
