/**
 * @module events/channels
 * The one subscriber connection of an API process, shared by everything that listens: the job
 * channels (`events/hub`) and the API keys' feed channels (`events/feed-hub`). A channel is
 * subscribed once, with one handler, however many streams it feeds; the handler fans out.
 *
 * ioredis re-subscribes by itself after a reconnect, but what was published meanwhile is lost:
 * listeners of {@link Channels.onResubscribed} re-read what they watch.
 *
 * Over RESP3 a subscribed connection still runs ordinary commands, in order with its
 * SUBSCRIBEs: a read sent right after a SUBSCRIBE on it sees the state as of a moment when
 * the subscription was already in place ({@link Channels.takesCommands}).
 */
import type { Logger } from '../log.js';
import type { RedisClient } from '../redis.js';

export class Channels {
  readonly #sub: RedisClient;
  readonly #sharded: boolean;
  readonly #log: Logger;
  readonly #handlers = new Map<string, (message: string) => void>();
  readonly #resubscribed = new Set<() => void>();
  #everReady = false;

  constructor(subscriber: RedisClient, options: { sharded?: boolean | undefined; log: Logger }) {
    this.#sub = subscriber;
    this.#sharded = options.sharded ?? false;
    this.#log = options.log;
    const onMessage = (channel: string, message: string) => this.#handlers.get(channel)?.(message);
    subscriber.on(this.#sharded ? 'smessage' : 'message', onMessage);
    // A Cluster rebuilds a lost shard subscriber on its own and says so with
    // 'subscribersReady', not 'ready'.
    subscriber.on('ready', () => {
      if (this.#everReady) this.#notify();
      this.#everReady = true;
    });
    if (this.#sharded) subscriber.on('subscribersReady', () => this.#notify());
    if (subscriber.status === 'ready') this.#everReady = true;
  }

  /**
   * Whether the subscriber connection runs ordinary commands now: it speaks RESP3 (a RESP2
   * subscriber is limited to (UN)SUBSCRIBE and PING) and is one connection, not a Cluster's
   * shard subscribers. `condition` is ioredis' record of what the connection negotiated.
   */
  get takesCommands(): boolean {
    if (this.#sharded) return false;
    const sub = this.#sub as unknown as { status: string; condition?: { protocol?: number } | null };
    return sub.status === 'ready' && sub.condition?.protocol === 3;
  }

  /** Channels subscribed. */
  get size(): number {
    return this.#handlers.size;
  }

  /**
   * Subscribes `channel`, its messages going to `handler`. Resolves once Redis has confirmed the
   * subscription: read the state the channel reports on only after that.
   */
  subscribe(channel: string, handler: (message: string) => void): Promise<unknown> {
    this.#handlers.set(channel, handler);
    return this.#sharded ? this.#sub.ssubscribe(channel) : this.#sub.subscribe(channel);
  }

  /**
   * Unsubscribes. A subscribe of the same channel after this is sent after this UNSUBSCRIBE on
   * the same connection, so Redis sees them in order.
   */
  unsubscribe(channel: string): void {
    this.#handlers.delete(channel);
    const done = this.#sharded ? this.#sub.sunsubscribe(channel) : this.#sub.unsubscribe(channel);
    done.catch((error: unknown) => this.#log.debug('unsubscribe failed', { channel, error }));
  }

  /** `fn` runs whenever the subscriptions were re-established after a lost connection. */
  onResubscribed(fn: () => void): void {
    this.#resubscribed.add(fn);
  }

  #notify(): void {
    for (const fn of this.#resubscribed) fn();
  }
}
