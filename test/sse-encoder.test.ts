/**
 * The SSE encoder against the parser browsers' behaviour is modelled on (`eventsource-parser`,
 * which the `eventsource` package uses): whatever the data, however the wire is cut into
 * chunks (at any character, or at any byte of its UTF-8 encoding), every event comes back
 * with its id, its name and its data — data with CR and CRLF turned into LF, as WHATWG HTML
 * §9.2 says a parser must. Fields that a line break would end early (`id`, `event`) cannot be
 * produced at all. And the fast paths of every event's JSON (`iso`, `progressData`) give exactly
 * what `toISOString` and `JSON.stringify` give.
 */
import { createParser, type EventSourceMessage, type ParseError } from 'eventsource-parser';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type DerivedProgress,
  type FeedLabels,
  iso,
  type ProgressTuple,
  progressData,
  withDerived,
} from '../src/jobs/events.js';
import { StreamEventNames } from '../src/jobs/schemas.js';
import { encodeComment, encodeEvent, encodeJobEvent, encodeRetry, type SseEvent } from '../src/sse.js';
import { anyText, cutPoints, splitAt, textWithout, wellFormedText } from './support/sse/sse-arbitraries.js';

interface Parsed {
  events: EventSourceMessage[];
  comments: string[];
  retries: number[];
  errors: ParseError[];
}

/** Feeds text chunks to a fresh parser and returns what it reported. */
function parseChunks(chunks: Iterable<string>): Parsed {
  const parsed: Parsed = { events: [], comments: [], retries: [], errors: [] };
  const parser = createParser({
    onEvent: (event) => parsed.events.push(event),
    onComment: (comment) => parsed.comments.push(comment),
    onRetry: (ms) => parsed.retries.push(ms),
    onError: (error) => parsed.errors.push(error),
  });
  for (const chunk of chunks) parser.feed(chunk);
  return parsed;
}

/** Decodes UTF-8 byte chunks the way a streaming client does (a code point may span chunks). */
function* decodeStreaming(chunks: Uint8Array[]): Generator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for (const chunk of chunks) yield decoder.decode(chunk, { stream: true });
  yield decoder.decode();
}

/** What a spec-conforming parser must give back for an encoded event. */
function expected({ id, event, data }: SseEvent): EventSourceMessage {
  return {
    id,
    // An empty `event:` means the default type; eventsource-parser reports it as absent.
    event: event === '' ? undefined : event,
    // §9.2: lines end at CRLF, CR or LF; data lines are joined with LF.
    data: data.replace(/\r\n|\r/g, '\n'),
  };
}

const eventArb = (text: (maxLength?: number) => fc.Arbitrary<string>) =>
  fc.record(
    {
      id: textWithout(/[\r\n\0]/),
      event: textWithout(/[\r\n]/),
      data: text(60),
    },
    { requiredKeys: ['data'] },
  );

describe('encodeEvent → eventsource-parser', () => {
  it('pins the line-break normalisation: CR, LF and CRLF in data all come back as LF', () => {
    const cases: [string, string][] = [
      ['a\nb', 'a\nb'],
      ['a\rb', 'a\nb'],
      ['a\r\nb', 'a\nb'],
      ['\r\n\r\n', '\n\n'],
      ['a\n\rb', 'a\n\nb'],
      ['trailing\r', 'trailing\n'],
      ['\rleading', '\nleading'],
      ['', ''],
      [' leading space', ' leading space'],
    ];
    for (const [data, back] of cases) {
      const frame = encodeEvent({ id: '1', event: 'log', data });
      expect(frame, JSON.stringify(data)).not.toMatch(/\r/);
      expect(parseChunks([frame]).events, JSON.stringify(data)).toEqual([{ id: '1', event: 'log', data: back }]);
    }
    expect(encodeEvent({ data: 'a\r\nb' })).toBe('data: a\ndata: b\n\n');
  });

  it('round-trips any string data, id and event name, at any chunk split', () => {
    fc.assert(
      fc.property(fc.array(eventArb(anyText), { minLength: 1, maxLength: 4 }), cutPoints, (events, points) => {
        const wire = events.map(encodeEvent).join('');
        const parsed = parseChunks(splitAt(wire, points));
        expect(parsed.events).toEqual(events.map(expected));
        expect(parsed.errors).toEqual([]);
        expect(parsed.comments).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });

  it('round-trips through UTF-8 bytes cut at any byte, decoded by a streaming TextDecoder', () => {
    const encoder = new TextEncoder();
    fc.assert(
      fc.property(fc.array(eventArb(wellFormedText), { minLength: 1, maxLength: 4 }), cutPoints, (events, points) => {
        const bytes = encoder.encode(events.map(encodeEvent).join(''));
        const parsed = parseChunks(decodeStreaming(splitAt(bytes, points)));
        expect(parsed.events).toEqual(events.map(expected));
        expect(parsed.errors).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });

  it('round-trips any JSON value (JSON.stringify) on a single data line', () => {
    fc.assert(
      fc.property(fc.jsonValue(), textWithout(/[\r\n\0]/), cutPoints, (value, id, points) => {
        const data = JSON.stringify(value);
        const frame = encodeEvent({ id, event: 'progress', data });
        // (Split on LF only: a regex `^` with the m flag would also match after U+2028.)
        expect(frame.split('\n').filter((line) => line.startsWith('data:'))).toHaveLength(1);
        const parsed = parseChunks(splitAt(frame, points));
        expect(parsed.events).toHaveLength(1);
        const [event] = parsed.events as [EventSourceMessage];
        expect(event).toMatchObject({ id, event: 'progress' });
        expect(JSON.parse(event.data)).toEqual(JSON.parse(data));
      }),
      { numRuns: 500 },
    );
  });

  it('turns one event into exactly one dispatched event, with no stray fields', () => {
    fc.assert(
      fc.property(eventArb(anyText), (event) => {
        const parsed = parseChunks([encodeEvent(event)]);
        expect(parsed.events).toHaveLength(1);
        expect(parsed.errors).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
});

describe('encodeJobEvent (the frame of every delivered job event)', () => {
  it('is the text encodeEvent gives, for any sequence number, event name and data', () => {
    fc.assert(
      fc.property(fc.nat(), fc.constantFrom(...StreamEventNames), anyText(60), (seq, event, data) => {
        expect(encodeJobEvent(seq, event, data)).toBe(encodeEvent({ id: String(seq), event, data }));
      }),
      { numRuns: 1000 },
    );
    expect(encodeJobEvent(7, 'log', 'a\r\nb')).toBe('id: 7\nevent: log\ndata: a\ndata: b\n\n');
  });
});

describe('fields a line break would end early', () => {
  const breaking = (chars: string[]) =>
    fc
      .tuple(wellFormedText(10), fc.constantFrom(...chars), wellFormedText(10))
      .map(([before, c, after]) => before + c + after);

  it('throws on CR, LF or NULL in an id, so a forged field never reaches the wire', () => {
    fc.assert(
      fc.property(breaking(['\r', '\n', '\0']), anyText(), (id, data) => {
        expect(() => encodeEvent({ id, data })).toThrow(TypeError);
      }),
    );
    expect(() => encodeEvent({ id: '1\ndata: forged', data: 'x' })).toThrow(/CR, LF or NULL/);
    expect(() => encodeEvent({ id: '1\0', data: 'x' })).toThrow(TypeError);
  });

  it('throws on CR or LF in an event name', () => {
    fc.assert(
      fc.property(breaking(['\r', '\n']), anyText(), (event, data) => {
        expect(() => encodeEvent({ event, data })).toThrow(TypeError);
      }),
    );
    expect(() => encodeEvent({ event: 'done\r\nid: 999', data: 'x' })).toThrow(/CR or LF/);
  });
});

describe('encodeComment', () => {
  it('produces no events, whatever the text, and the parser sees each of its lines as a comment', () => {
    fc.assert(
      fc.property(anyText(), cutPoints, (text, points) => {
        const parsed = parseChunks(splitAt(encodeComment(text), points));
        expect(parsed.events).toEqual([]);
        expect(parsed.errors).toEqual([]);
        expect(parsed.comments).toEqual(text.split(/\r\n|\r|\n/));
      }),
      { numRuns: 300 },
    );
    expect(encodeComment('ping')).toBe(': ping\n\n');
  });

  it('leaves the events around it intact (a heartbeat between events)', () => {
    fc.assert(
      fc.property(eventArb(anyText), anyText(), eventArb(anyText), cutPoints, (a, comment, b, points) => {
        const wire = encodeEvent(a) + encodeComment(comment) + encodeEvent(b);
        expect(parseChunks(splitAt(wire, points)).events).toEqual([expected(a), expected(b)]);
      }),
      { numRuns: 300 },
    );
  });
});

describe('encodeRetry', () => {
  it("sets the parser's reconnection interval and dispatches nothing", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), cutPoints, (ms, points) => {
        const parsed = parseChunks(splitAt(encodeRetry(ms), points));
        expect(parsed.retries).toEqual([ms]);
        expect(parsed.events).toEqual([]);
        expect(parsed.errors).toEqual([]);
      }),
    );
    expect(encodeRetry(0)).toBe('retry: 0\n\n');
  });

  it('sends a fractional or negative interval as a whole, non-negative number of milliseconds', () => {
    fc.assert(
      fc.property(fc.double({ min: -1e12, max: 1e12, noNaN: true }), (ms) => {
        const parsed = parseChunks([encodeRetry(ms)]);
        expect(parsed.retries).toEqual([Math.max(0, Math.trunc(ms))]);
        expect(parsed.errors).toEqual([]);
      }),
    );
  });
});

describe('iso (the `at` of every event, formatted from a per-second cache)', () => {
  it('is exactly toISOString for any timestamp, in any order, and throws where it throws', () => {
    const same = (ms: number | string) => {
      let expected: string;
      try {
        expected = new Date(Number(ms)).toISOString();
      } catch {
        expect(() => iso(ms)).toThrow(RangeError);
        return;
      }
      expect(iso(ms)).toBe(expected);
    };
    for (const ms of [0, 1, 999, 1000, 1_700_000_000_000, 253_402_300_799_999, 253_402_300_800_000, -1, 1.5, '', 'x']) {
      same(ms);
    }
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -8.64e15, max: 8.64e15 }), { maxLength: 20 }), (list) => {
        for (const ms of list) same(ms);
      }),
    );
    // Runs within one second and across its edges, as events arrive.
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1_700_000_000_000, max: 1_700_000_003_000 }), { maxLength: 50 }),
        (list) => {
          for (const ms of list) same(String(ms));
        },
      ),
    );
  });
});

describe('progressData (the JSON of every progress event, written out)', () => {
  /** The event object as it was built before the fast path, serialised by JSON.stringify: the reference. */
  const reference = (
    jobId: string,
    [state, progress, attempt, atMs, message, rate, etaMs, details]: ProgressTuple,
    derived: DerivedProgress,
    labels?: FeedLabels,
  ): string => {
    const data: Record<string, unknown> = {
      jobId,
      state,
      progress: Number(progress),
      ...(message ? { message } : {}),
      attempt: Number(attempt),
      at: new Date(Number(atMs)).toISOString(),
    };
    if (state === 'active' && rate) {
      data.rate = Number(rate);
      if (etaMs && derived.stalled !== true) data.eta = new Date(Number(etaMs)).toISOString();
    }
    if (details) data.details = JSON.parse(details);
    if (state === 'queued') {
      if (derived.queuePosition !== undefined) data.queuePosition = derived.queuePosition;
      if (derived.expectedStartAt !== undefined) data.expectedStartAt = new Date(derived.expectedStartAt).toISOString();
    }
    if (state === 'active' && derived.stalled !== undefined) data.stalled = derived.stalled;
    if (labels) {
      data.type = labels.type;
      if (labels.tags.length > 0) data.tags = labels.tags;
    }
    return JSON.stringify(data);
  };

  it('is the text JSON.stringify gives for the event object, whatever the record and the derived fields hold', () => {
    const text = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc.constantFrom('', '0', '-0', '1e3', '0.1', 'NaN', ' 7 ', 'Infinity'),
    );
    const time = fc.integer({ min: 0, max: 4e12 });
    const details = fc.oneof(
      fc.constant(''),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      // Spaced and with integer-like keys, which JSON.parse reorders.
      fc.dictionary(fc.string(), fc.jsonValue()).map((v) => JSON.stringify({ b: 1, 2: 'x', ...v, 1: null }, null, 2)),
    );
    const tuple = fc.tuple(
      fc.oneof(fc.constantFrom('queued', 'active', 'completed', 'failed'), fc.string()),
      text,
      text,
      time.map(String),
      text,
      fc.oneof(text, fc.double().map(String)),
      fc.oneof(fc.constant(''), time.map(String)),
      details,
      text,
    );
    const derived = fc.record(
      {
        queuePosition: fc.oneof(fc.nat(), fc.double()),
        expectedStartAt: time,
        stalled: fc.boolean(),
      },
      { requiredKeys: [] },
    );
    const labels = fc.option(fc.record({ type: fc.string(), tags: fc.array(fc.string({ unit: 'binary' })) }), {
      nil: undefined,
    });
    fc.assert(
      fc.property(fc.uuid(), tuple, derived, labels, (jobId, record, more, feed) => {
        const t = record as ProgressTuple;
        expect(progressData(jobId, t, more, feed)).toBe(reference(jobId, t, more, feed));
      }),
    );
  });

  it('gives, from the JSON without derived progress (what the record scripts write), the same text with it (withDerived)', () => {
    const tuple = fc.tuple(
      fc.constantFrom('queued', 'active', 'completed', 'failed', 'cancelled'),
      fc.integer({ min: 0, max: 100 }).map(String),
      fc.nat(9).map(String),
      fc.integer({ min: 0, max: 4e12 }).map(String),
      fc.string({ unit: 'binary' }),
      fc.oneof(fc.constant(''), fc.double({ min: 0.01, max: 100, noNaN: true }).map(String)),
      fc.oneof(fc.constant(''), fc.integer({ min: 0, max: 4e12 }).map(String)),
      fc.oneof(
        fc.constant(''),
        fc.dictionary(fc.string(), fc.jsonValue()).map((v) => JSON.stringify(v)),
      ),
      fc.constant(''),
    );
    const derived = fc.record(
      { queuePosition: fc.nat(), expectedStartAt: fc.integer({ min: 0, max: 4e12 }), stalled: fc.boolean() },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.uuid(), tuple, derived, (jobId, record, more) => {
        const t = record as ProgressTuple;
        expect(withDerived(progressData(jobId, t), t[0], more)).toBe(progressData(jobId, t, more));
      }),
    );
  });
});
