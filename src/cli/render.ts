/**
 * @module cli/render
 * How `watch` shows a job: a {@link WatchView} receives the events and connection changes.
 * - {@link TtyView}: one progress-bar line redrawn in place (`\r` + clear line), log lines
 *   printed above it, a final ✔/✖ line. Colour unless NO_COLOR. While the job runs the bar
 *   counts its ETA down (`12s left`); while it waits, it shows its place in the queue and when
 *   it is expected to start; a job gone quiet is marked `stalled`.
 * - {@link PlainView}: one line per event, no escape codes, for pipes, files and CI logs.
 * - {@link JsonView}: one JSON event per line (NDJSON), for programs.
 *
 * Text from the server (messages, log lines, errors) is stripped of control characters before
 * it reaches the terminal: a job must not be able to move the cursor or retitle the window.
 */
import type { ProgressEvent, WatchEvent } from '../../packages/client/src/index.js';
import type { DoneEvent, JobState } from '../jobs/schemas.js';

export type ConnectionState = 'live' | 'reconnecting';

export interface WatchView {
  event(event: WatchEvent): void;
  connection(state: ConnectionState): void;
  /** Watching stops before `done` (Ctrl-C, give-up, error): leave the terminal tidy. */
  abandon(): void;
}

interface Output {
  write(text: string): unknown;
  columns?: number;
  on?(event: 'resize', listener: () => void): unknown;
  off?(event: 'resize', listener: () => void): unknown;
}

const FILLED = '█';
const EMPTY = '░';
const CLEAR_LINE = '\r\x1b[2K';
/** Widest bar drawn; wider is not more readable. */
const MAX_BAR = 40;
/** Narrowest bar drawn, however narrow the terminal. */
const MIN_BAR = 10;
/** The bar's share of the line; the rest is for the percentage, the message and the state. */
const BAR_SHARE = 0.35;

/** Removes C0/C1 control characters (ESC included) and folds newlines, for one terminal line. */
export function sanitize(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
  return text.replace(/\r\n|[\r\n\t]/g, ' ').replace(/[\u0000-\u001f\u007f-\u009f]/g, '');
}

/** Whole percent, rounded down so a job never shows 100% before it is done. */
export const percent = (progress: number): number => Math.max(0, Math.min(100, Math.floor(progress)));

/** `████░░░░` of `width` cells for `progress` (0–100). */
export function bar(progress: number, width: number): string {
  const filled = Math.round((Math.max(0, Math.min(100, progress)) / 100) * width);
  return FILLED.repeat(filled) + EMPTY.repeat(width - filled);
}

export interface BarState {
  progress: number;
  message?: string | undefined;
  /** The job's state, or `reconnecting…` while the connection is down. */
  status: string;
  /** What the status adds: the time left, the place in the queue, `stalled` (see {@link statusNote}). */
  note?: string | undefined;
}

/** `12s`, `4m 10s`, `1h 5m`: a duration as a person reads it (rounded up to whole seconds). */
export function duration(ms: number): string {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${seconds % 60}s`;
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}

/**
 * What the status says besides the state, at `now`: `12s left` (from `eta`), `stalled`,
 * `#3 in queue, starts in ~20s` (from `queuePosition` and `expectedStartAt`).
 */
export function statusNote(data: ProgressEvent, now: number): string | undefined {
  if (data.state === 'active') {
    if (data.stalled) return 'stalled';
    return data.eta ? `${duration(Date.parse(data.eta) - now)} left` : undefined;
  }
  if (data.state !== 'queued') return undefined;
  const start = data.expectedStartAt ? Date.parse(data.expectedStartAt) - now : undefined;
  const starts = start === undefined ? undefined : start > 1000 ? `starts in ~${duration(start)}` : 'starts soon';
  const place = data.queuePosition === undefined ? undefined : `#${data.queuePosition} in queue`;
  return [place, starts].filter(Boolean).join(', ') || undefined;
}

/**
 * The bar line, fitted to `columns`: `[████████░░░░░░░░] 42%  step 4 of 10  (active)`. The bar's
 * width depends on the terminal's width alone (so it does not jump as the message or state
 * changes); the message takes what is left and is cut with `…`. One column is left free:
 * writing the last column makes some terminals wrap, which breaks the `\r` redraw.
 */
export function barLine(state: BarState, columns: number): string {
  const room = Math.max(1, columns - 1);
  const width = Math.max(MIN_BAR, Math.min(MAX_BAR, Math.round(room * BAR_SHARE)));
  const pct = `${percent(state.progress)}%`.padEnd(4);
  const status = `  (${state.status}${state.note ? `, ${state.note}` : ''})`;
  const message = state.message ? sanitize(state.message) : '';
  let line = `[${bar(state.progress, width)}] ${pct}`;
  const messageRoom = room - line.length - status.length - 1;
  if (message && messageRoom >= 2) line += ` ${truncate(message, messageRoom)}`;
  return truncate(line.trimEnd() + status, room);
}

function truncate(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, Math.max(0, max - 1)).join('')}…`;
}

/** The last line of a watch: `completed {"steps":10}`, `failed: <error>`, `cancelled`. */
export function outcomeText(done: DoneEvent): string {
  switch (done.status) {
    case 'completed':
      return done.result === undefined ? 'completed' : `completed ${JSON.stringify(done.result)}`;
    case 'failed':
      return `failed: ${sanitize(done.error ?? 'unknown error')}`;
    case 'cancelled':
      return done.error ? `cancelled: ${sanitize(done.error)}` : 'cancelled';
  }
}

/** Plain lines: `42% step 4 of 10`, `log: …`, `completed {"steps":10}`. */
export class PlainView implements WatchView {
  #last = '';
  #down = false;

  constructor(private readonly out: Output) {}

  event(event: WatchEvent): void {
    switch (event.type) {
      case 'progress': {
        const { progress, message, state } = event.data;
        // A finished job's last progress event only repeats what the `done` line says.
        if (state === 'completed' || state === 'failed' || state === 'cancelled') break;
        const line = `${percent(progress)}%${message ? ` ${sanitize(message)}` : ''}${state === 'active' ? '' : ` (${state})`}`;
        // A resumed stream starts with the current state again: do not print it twice.
        if (line !== this.#last) this.#line(line);
        this.#last = line;
        break;
      }
      case 'log':
        this.#line(`log: ${sanitize(event.data.line)}`);
        break;
      case 'reset':
        this.#line(`note: older log lines were not kept (${sanitize(event.data.reason)})`);
        break;
      case 'done':
        this.#line(outcomeText(event.data));
        break;
    }
  }

  connection(state: ConnectionState): void {
    if (state === 'reconnecting' && !this.#down) this.#line('reconnecting…');
    if (state === 'live' && this.#down) this.#line('reconnected');
    this.#down = state === 'reconnecting';
  }

  abandon(): void {}

  #line(text: string): void {
    this.out.write(`${text}\n`);
  }
}

/** NDJSON: the client's typed events as they arrive. */
export class JsonView implements WatchView {
  constructor(private readonly out: Output) {}
  event(event: WatchEvent): void {
    this.out.write(`${JSON.stringify(event)}\n`);
  }
  connection(): void {}
  abandon(): void {}
}

const SGR = { green: 32, red: 31, yellow: 33, dim: 2 } as const;
const RECONNECTING = 'reconnecting…';

/** The terminal progress bar. */
/** How often the bar is redrawn while it counts an ETA down. */
const COUNTDOWN_MS = 1_000;

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
