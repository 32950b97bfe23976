/**
 * @module events/connection
 * The write side of one event stream, straight on Node's response object.
 *
 * Why not hono's `streamSSE`: an awaited write blocks forever on a client that stops reading,
 * and an unawaited one buffers without bound. Here a frame goes to the socket while it keeps
 * up; once the socket is full, frames wait in a small per-stream queue in which a job's newer
 * progress replaces its older one (progress is state: latest wins) while logs and `done` are
 * kept. A client whose socket stays full past `stuckTimeoutMs`, or whose queue passes
 * `maxPending`, is disconnected and resumes from its Last-Event-ID when it reconnects.
 */
import type { ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
import { encodeComment, encodeRetry } from '../sse.js';
import type { HeapCompaction } from './heap-compaction.js';

export type NodeResponse = ServerResponse | Http2ServerResponse;

export interface ConnectionLimits {
  heartbeatMs: number;
  retryMs: number;
  maxPending: number;
  stuckTimeoutMs: number;
}

interface Pending {
  /** Set for progress frames: a newer progress of the same job replaces this one. */
  conflateKey: string | undefined;
  frame: Buffer;
}

const PING = Buffer.from(encodeComment('ping'));

export class SseConnection {
  readonly #res: NodeResponse;
  readonly #set: ConnectionSet;
  /** Frames waiting for the socket to drain; made when the socket first fills (most never do). */
  #pending: Pending[] | undefined;
  /** Since when the socket has refused more data; 0 while it keeps up. */
  #fullSince = 0;
  #lastWriteAt = 0;
  #ending = false;
  #closed = false;
  /** What runs when the stream closes (a session's one callback: no array per stream). */
  #onClose: (() => void) | undefined;

  constructor(res: NodeResponse, set: ConnectionSet, headers: Record<string, string>) {
    this.#res = res;
    this.#set = set;
    // What listened for 'close' until now is the framework's: @hono/node-server's listener
    // aborts the request object it keeps (nothing reads it once a stream is open), and holding
    // that object for the life of every stream cost ~0.4 KB each (a heap snapshot of 4,000
    // idle streams). From here on the stream's own listener does what a close needs.
    res.removeAllListeners('close');
    res.on('close', () => this.#closedByPeer());
    res.writeHead(200, headers);
    flattenHeaderBlock(res);
    this.#write(set.retryFrame);
    set.add(this);
    // The client may have gone while the stream was being set up (Redis round trips): then
    // 'close' has already fired and will not again.
    if (res.destroyed) this.#closedByPeer();
    // A stream opened while the server shuts down (a keep-alive socket can still bring one)
    // ends at once, cleanly: the client reconnects, to another replica.
    else if (set.closing) this.end();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Runs when the stream closes, for whatever reason. */
  onClose(fn: () => void): void {
    if (this.#closed) {
      fn();
      return;
    }
    const earlier = this.#onClose;
    this.#onClose = earlier
      ? () => {
          earlier();
          fn();
        }
      : fn;
  }

  /**
   * Queues a frame. `conflateKey` (a job id) marks progress: while the socket is full, only
   * the newest progress frame of that job waits.
   */
  send(frame: Buffer, conflateKey?: string): void {
    if (this.#closed || this.#ending) return;
    if (this.#fullSince === 0) {
      this.#write(frame);
      return;
    }
    this.#pending ??= [];
    const pending = this.#pending;
    if (conflateKey !== undefined) {
      const older = pending.findIndex((p) => p.conflateKey === conflateKey);
      if (older >= 0) pending.splice(older, 1);
    }
    pending.push({ conflateKey, frame });
    if (pending.length > this.#set.limits.maxPending) this.destroy('too many undelivered events');
  }

  /** Ends the response once everything queued is written. */
  end(): void {
    if (this.#closed || this.#ending) return;
    this.#ending = true;
    if (this.#fullSince === 0) this.#res.end();
  }

  /** Drops the connection at once (a stuck or misbehaving client). */
  destroy(reason: string): void {
    if (this.#closed) return;
    this.#set.stuckDisconnects++;
    this.#res.destroy(new Error(reason));
  }

  /** Called by the set's ticker: heartbeat when idle, disconnect when stuck. */
  tick(now: number): void {
    if (this.#fullSince !== 0) {
      if (now - this.#fullSince >= this.#set.limits.stuckTimeoutMs) this.destroy('client stopped reading');
    } else if (now - this.#lastWriteAt >= this.#set.limits.heartbeatMs) {
      this.#write(PING);
    }
  }

  #write(chunk: Buffer): void {
    this.#lastWriteAt = Date.now();
    // (Http2ServerResponse has the same write(); the cast only picks one signature.)
    // write() returns false once the socket buffer passes its high-water mark; the chunk is
    // still taken, and 'drain' tells when more can go. Listened for only then: most streams
    // never fill their socket, and an idle stream keeps no listener it does not need.
    if (!(this.#res as ServerResponse).write(chunk)) {
      this.#fullSince = this.#lastWriteAt;
      (this.#res as ServerResponse).once('drain', () => this.#drain());
    }
  }

  #drain(): void {
    if (this.#closed) return;
    this.#fullSince = 0;
    if (this.#pending && this.#pending.length > 0) {
      const frames = this.#pending.map((p) => p.frame);
      this.#pending = undefined;
      this.#write(frames.length === 1 ? (frames[0] as Buffer) : Buffer.concat(frames));
    }
    if (this.#ending && this.#fullSince === 0) this.#res.end();
  }

  #closedByPeer(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pending = undefined;
    this.#set.delete(this);
    const onClose = this.#onClose;
    this.#onClose = undefined;
    onClose?.();
  }
}

/**
 * Node keeps a response's header block (`_header`) for the life of the response, as the rope
 * of a dozen small strings `writeHead` concatenated it from: ~1.5 KB per idle stream, measured
 * in a heap snapshot, against ~0.3 KB flat. Converting it to a number makes V8 flatten the
 * string in place (the rope becomes one flat string, its pieces garbage); the value is the same.
 * HTTP/2 responses have no such block.
 */
function flattenHeaderBlock(res: NodeResponse): void {
  const block = (res as { _header?: unknown })._header;
  if (typeof block === 'string') Number(block);
}

/**
 * Every open stream of a process, with one shared ticker for heartbeats and stuck-client
 * detection (no timer per stream).
 */
export class ConnectionSet {
  readonly limits: ConnectionLimits;
  readonly #open = new Set<SseConnection>();
  #timer: NodeJS.Timeout | undefined;
  /** Told of every stream that opens (`events/heap-compaction`). */
  readonly #compaction: HeapCompaction | undefined;
  /** Streams dropped because the client stopped reading. */
  stuckDisconnects = 0;
  /** Every stream's first frame, the same for all: encoded once, not per stream opened. */
  readonly retryFrame: Buffer;

  constructor(limits: ConnectionLimits, compaction?: HeapCompaction) {
    this.limits = limits;
    this.#compaction = compaction;
    this.retryFrame = Buffer.from(encodeRetry(limits.retryMs));
  }

  get size(): number {
    return this.#open.size;
  }

  add(connection: SseConnection): void {
    this.#open.add(connection);
    this.#compaction?.opened(this.#open.size);
    if (!this.#timer) {
      const every = Math.max(50, Math.min(this.limits.heartbeatMs, this.limits.stuckTimeoutMs) / 4);
      this.#timer = setInterval(() => this.#tick(), every);
      this.#timer.unref();
    }
  }

  delete(connection: SseConnection): void {
    this.#open.delete(connection);
    if (this.#open.size === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  /** Set by shutdown(): streams that open from now on end at once. */
  closing = false;

  /** Ends every stream for good (server shutdown), including any that open afterwards. */
  shutdown(): void {
    this.closing = true;
    this.#compaction?.stop();
    this.endAll();
  }

  /** Ends every open stream: clients reconnect, to another replica if this one is gone. */
  endAll(): void {
    for (const connection of [...this.#open]) connection.end();
  }

  #tick(): void {
    const now = Date.now();
    for (const connection of this.#open) connection.tick(now);
  }
}
