/**
 * fast-check arbitraries for the SSE encoder: text heavy in the characters SSE framing cares
 * about (CR, LF, CRLF, `:`, spaces, NULL, BOM) mixed with any Unicode, and ways to cut a wire
 * text or its UTF-8 bytes into chunks.
 */
import fc from 'fast-check';

/** Characters that matter to SSE framing, and some that break naive UTF-8 handling. */
const SPECIAL = ['\r', '\n', '\r\n', '\n\n', '\r\r', ' ', ':', 'data: ', 'id: ', '\0', '\uFEFF', '\u2028', '€', '😀'];

/** One unit: mostly any code point, often a framing character. */
const wellFormedUnit = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.constantFrom(...SPECIAL) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
);

/** Any well-formed string (what survives UTF-8), biased towards line breaks. */
export const wellFormedText = (maxLength = 40): fc.Arbitrary<string> => fc.string({ unit: wellFormedUnit, maxLength });

/** Any JavaScript string, lone surrogate halves included (the encoder works on UTF-16 text). */
export const anyText = (maxLength = 40): fc.Arbitrary<string> =>
  fc.string({
    unit: fc.oneof(
      { weight: 6, arbitrary: wellFormedUnit },
      { weight: 1, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code)) },
    ),
    maxLength,
  });

/** Text without the given characters (what `id` and `event` may hold). */
export const textWithout = (forbidden: RegExp, maxLength = 20): fc.Arbitrary<string> =>
  wellFormedText(maxLength).map((s) => s.replace(new RegExp(forbidden.source, 'g'), ''));

/** Cut points for a text or byte array: sorted, distinct positions in (0, length). */
export const cutPoints: fc.Arbitrary<number[]> = fc.array(fc.nat(), { maxLength: 12 });

/** Splits `whole` at `points` (taken modulo its length), keeping every piece non-empty. */
export function splitAt<T extends string | Uint8Array>(whole: T, points: number[]): T[] {
  if (whole.length < 2) return [whole];
  const cuts = [...new Set(points.map((p) => 1 + (p % (whole.length - 1))))].sort((a, b) => a - b);
  const pieces: T[] = [];
  let from = 0;
  for (const cut of cuts) {
    pieces.push(whole.slice(from, cut) as T);
    from = cut;
  }
  pieces.push(whole.slice(from) as T);
  return pieces;
}
