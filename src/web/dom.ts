/**
 * @module web/dom
 * The page's parts by id, and errors in words for the page to show.
 *
 * Browser code: bundled by `web/assets`, never imported by the server.
 */
import { JobcastError } from '../../packages/client/src/index.js';

/** The page's element `#id`; throws when `index.html` has none (a broken build, not a user's problem). */
export function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found as T;
}

/** What went wrong, in words: the problem's detail, or "jobcast is unreachable" for a network error. */
export function reason(error: unknown): string {
  if (error instanceof JobcastError) return error.message;
  if (error instanceof TypeError) return 'jobcast is unreachable';
  return error instanceof Error ? error.message : String(error);
}
