/**
 * @module cli/render
 * How `watch` shows a job: a {@link WatchView} receives the events and connection changes.
 * - `TtyView` (`cli/tty-view`): one progress-bar line (`cli/bar`) redrawn in place, log lines
 *   printed above it, a final ✔/✖ line, for terminals.
 * - {@link PlainView}: one line per event, no escape codes, for pipes, files and CI logs.
 * - {@link JsonView}: one JSON event per line (NDJSON), for programs.
 *
 * Text from the server (messages, log lines, errors) is stripped of control characters before
 * it reaches the terminal (`cli/text`): a job must not be able to move the cursor or retitle the
 * window.
 */
import type { WatchEvent } from '../../packages/client/src/index.js';
import { statusNote } from './bar.js';
import { outcomeText, percent, sanitize } from './text.js';

export type ConnectionState = 'live' | 'reconnecting';

/** What `watch` hands the job's events and its connection changes to. */
export interface WatchView {
  event(event: WatchEvent): void;
  connection(state: ConnectionState): void;
  /** Watching stops before `done` (Ctrl-C, give-up, error): leave the terminal tidy. */
  abandon(): void;
}

/** Where a view writes: stdout, or a test's stand-in. */
export interface Output {
  write(text: string): unknown;
  columns?: number;
  on?(event: 'resize', listener: () => void): unknown;
  off?(event: 'resize', listener: () => void): unknown;
}

/**
 * Plain lines: `42% step 4 of 10`, `0% (queued, #3 in queue, starts in ~40s)`, `42% step 4 of 10
 * (stalled)`, `log: …`, `completed {"steps":10}`. (No time left on running lines: it would make
 * every line differ, which the bar's redraw does not.)
 */
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
        const pct = percent(progress);
        const note = state === 'queued' || event.data.stalled ? statusNote(event.data, Date.now()) : undefined;
        const status = [state === 'active' ? undefined : state, note].filter(Boolean).join(', ');
        const line = `${pct}%${message ? ` ${sanitize(message)}` : ''}${status ? ` (${status})` : ''}`;
        // A resumed stream starts with the current state again: do not print it twice. (Told
        // apart without the start time, which reads differently a moment later.)
        const key = JSON.stringify([pct, message, state, event.data.queuePosition, event.data.stalled]);
        if (key !== this.#last) this.#line(line);
        this.#last = key;
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
