/**
 * @module json-text
 * JSON text as received from outside (a request body, a file, stdin): RFC 8259 §8.1 lets a
 * parser ignore a leading byte order mark, which some Windows tools write; JSON.parse does not.
 */

/** `JSON.parse` of `text`, a leading byte order mark ignored. Throws what JSON.parse throws. */
export function parseJsonText(text: string): unknown {
  return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
}
