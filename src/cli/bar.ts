/**
 * @module cli/bar
 * The progress-bar line of `watch` on a terminal: `[████████░░░░░░░░] 42%  step 4 of 10  (active,
 * 12s left)`, fitted to the terminal's width, with what the status adds (the time left, the
 * place in the queue, `stalled`). Pure: the time is passed in, so every line can be tested.
 */
import type { ProgressEvent } from '../../packages/client/src/index.js';
import { percent, sanitize } from './text.js';

const FILLED = '█';
const EMPTY = '░';
/** Widest bar drawn; wider is not more readable. */
const MAX_BAR = 40;
/** Narrowest bar drawn, however narrow the terminal. */
const MIN_BAR = 10;
/** The bar's share of the line; the rest is for the percentage, the message and the state. */
const BAR_SHARE = 0.35;

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
  if (minutes < 60) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m ${seconds % 60}s`;
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
