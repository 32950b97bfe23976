/**
 * @module cli/text
 * Text from the server made fit for a terminal line, and the words `watch` ends with. Messages,
 * log lines and errors are stripped of control characters before they reach the terminal: a job
 * must not be able to move the cursor or retitle the window.
 */
import type { DoneEvent } from '../jobs/schemas.js';

/** Removes C0/C1 control characters (ESC included) and folds newlines, for one terminal line. */
export function sanitize(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
  return text.replace(/\r\n|[\r\n\t]/g, ' ').replace(/[\u0000-\u001f\u007f-\u009f]/g, '');
}

/** Whole percent, rounded down so a job never shows 100% before it is done. */
export const percent = (progress: number): number => Math.max(0, Math.min(100, Math.floor(progress)));

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
