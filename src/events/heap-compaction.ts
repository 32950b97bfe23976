/**
 * @module events/heap-compaction
 * One compacting garbage collection once a burst of streams has settled.
 *
 * Opening a stream takes Redis round trips, and what a request allocates meanwhile (hono's
 * context, the promises, the replies) outlives two young-generation collections and is
 * promoted to the old generation, where it dies between the long-lived objects of the streams
 * opened beside it. V8's full collections free it but move little: after a burst of idle
 * streams the old generation stayed about half empty, its pages resident (measured with 4,000
 * idle streams, one job each: 12.4 KB of old space per stream for 6.8 KB of live objects; a
 * bare `node:http` hub, which allocates almost nothing per request, 6.2 for 5.5). V8's own
 * memory reducer, which would compact, was never seen to run in a process whose streams sit
 * idle. So once enough streams have opened, and then none for `quietMs`, the process runs one
 * full collection that compacts every page: a pause of ~200 ms per 4,000 streams held on a busy
 * machine, never while streams keep opening.
 *
 * "Enough" weighs what there is to gain against the pause: the holes to take away come from
 * the streams opened since the last compaction, the pause grows with everything held. So it
 * runs once the streams opened since the last one are at least `share` of those open (a
 * burst into an empty process, or the last tenth of a long ramp that an earlier compaction
 * interrupted), and only while at least `minOpen` are open: a process holding fewer (a few
 * hundred watched jobs, streams that come and go) never pays it; its holes are few, and its
 * pauses would land in the middle of its events.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Logger } from '../log.js';

export interface HeapCompactionOptions {
  /** Streams open below which the process never compacts. */
  minOpen: number;
  /** Streams opened since the last compaction, as a share of those open, that make one worth its pause. */
  share: number;
  /** How long no stream may have opened before the burst counts as settled. */
  quietMs: number;
  log?: Logger;
}

/**
 * Two thousand streams open: fewer leave too little to compact to be worth a pause. A tenth
 * of them opened since the last compaction: the pause is paid for that many streams' holes.
 * One second without an opening: a client ramp (hundreds to a few thousand a second, see
 * docs/performance.md) keeps pushing it back; a burst that is over lets it run, and its pause
 * is over within a few seconds even with six processes compacting on two cores.
 */
export const HEAP_COMPACTION = { minOpen: 2000, share: 0.1, quietMs: 1000 } as const;

/** Counts opened streams; compacts the heap once enough of them have opened and the openings have stopped. */
export class HeapCompaction {
  readonly #options: HeapCompactionOptions;
  #opened = 0;
  #timer: NodeJS.Timeout | undefined;
  /** Compactions run so far (for tests and the log). */
  runs = 0;

  constructor(options: HeapCompactionOptions) {
    this.#options = options;
  }

  /** True while a compaction waits for the openings to stop. */
  get pending(): boolean {
    return this.#timer !== undefined;
  }

  /** A stream opened; `open` streams are open now, this one included. */
  opened(open: number): void {
    this.#opened++;
    if (open < this.#options.minOpen || this.#opened < open * this.#options.share) return;
    // One timer, pushed back by every stream that opens: it fires only once they stop.
    if (this.#timer) this.#timer.refresh();
    else {
      this.#timer = setTimeout(() => this.#compact(), this.#options.quietMs);
      this.#timer.unref();
    }
  }

  /** Stops the pending compaction, if any (server shutdown). */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #compact(): void {
    this.#timer = undefined;
    this.#opened = 0;
    const started = performance.now();
    const before = process.memoryUsage().heapTotal;
    compactingCollection();
    this.runs++;
    this.#options.log?.debug('heap compacted after a burst of streams', {
      ms: Math.round(performance.now() - started),
      heapMiB: [before, process.memoryUsage().heapTotal].map((bytes) => Math.round(bytes / 2 ** 20)),
    });
  }
}

let collect: (() => void) | undefined;

/**
 * A full collection that evacuates every page of the old generation. Node offers no API for
 * one: V8's `gc` function is made available (`--expose-gc` applies to contexts created after
 * it is set, hence the one small context) and told, for this one call, to compact every page.
 */
function compactingCollection(): void {
  if (!collect) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (exposed) collect = exposed;
    else {
      setFlagsFromString('--expose-gc');
      collect = runInNewContext('gc') as () => void;
      setFlagsFromString('--no-expose-gc');
    }
  }
  setFlagsFromString('--compact-on-every-full-gc');
  try {
    collect();
  } finally {
    setFlagsFromString('--no-compact-on-every-full-gc');
  }
}
