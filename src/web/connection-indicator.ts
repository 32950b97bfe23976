/**
 * @module web/connection-indicator
 * The live/reconnecting indicator at the top of the page: the state of the page's job stream,
 * or `Key needed` while the page waits for an API key (a stream would only be refused).
 *
 * Browser code: bundled by `web/assets`, never imported by the server.
 */
import type { ConnectionState } from '../../packages/client/src/shared-stream.js';

/** What the indicator shows: the stream's state, or `locked` while the page waits for a key. */
type Indicator = ConnectionState | 'locked';

const LABELS: Record<Indicator, string> = {
  idle: 'Idle',
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  locked: 'Key needed',
};

/** A stream's state in words (the feed view says how its own stream is doing too). */
export const describeConnection = (state: ConnectionState): string => LABELS[state];

export class ConnectionIndicator {
  readonly #root: HTMLElement;
  readonly #label: HTMLElement;
  #stream: ConnectionState = 'idle';
  #locked = false;

  constructor(root: HTMLElement, label: HTMLElement) {
    this.#root = root;
    this.#label = label;
  }

  /** The state of the page's stream now. */
  get stream(): ConnectionState {
    return this.#stream;
  }

  /** The page's stream changed state. */
  show(state: ConnectionState): void {
    this.#stream = state;
    this.#draw();
  }

  /** The page started or stopped waiting for a key. */
  lock(locked: boolean): void {
    this.#locked = locked;
    this.#draw();
  }

  #draw(): void {
    const shown: Indicator = this.#locked ? 'locked' : this.#stream;
    this.#root.dataset.connection = shown;
    this.#label.textContent = LABELS[shown];
  }
}
