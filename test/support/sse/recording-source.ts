/**
 * A real `eventsource` client (what a browser does: reconnect after `retry`, resend the last
 * id as `Last-Event-ID`, stop on 204) that records everything it does: every request it
 * makes, with the Last-Event-ID it sent, every event it dispatched, every error.
 */
import { EventSource } from 'eventsource';
import { STREAM_EVENTS } from './sse.js';

export interface SourceEvent {
  type: string;
  id: string;
  data: Record<string, unknown>;
  at: number;
  /** Which request (0-based) delivered it. */
  request: number;
}

export interface SourceRequest {
  at: number;
  url: string;
  lastEventId: string | undefined;
}

export class RecordingSource {
  readonly source: EventSource;
  readonly events: SourceEvent[] = [];
  readonly requests: SourceRequest[] = [];
  readonly errors: { at: number; message: string; code: number | undefined; readyState: number }[] = [];

  constructor(url: string, options: { headers?: Record<string, string> } = {}) {
    const extra = options.headers ?? {};
    this.source = new EventSource(url, {
      fetch: (input, init) => {
        const headers = { ...(init?.headers as Record<string, string> | undefined), ...extra };
        this.requests.push({ at: Date.now(), url: String(input), lastEventId: headers['Last-Event-ID'] });
        return fetch(input, { ...init, headers });
      },
    });
    for (const type of STREAM_EVENTS) {
      this.source.addEventListener(type, (event) => {
        this.events.push({
          type,
          id: event.lastEventId,
          data: JSON.parse(event.data) as Record<string, unknown>,
          at: Date.now(),
          request: this.requests.length - 1,
        });
      });
    }
    this.source.addEventListener('error', (event) => {
      const { message, code } = event as unknown as { message?: string; code?: number };
      this.errors.push({ at: Date.now(), message: String(message), code, readyState: this.source.readyState });
    });
  }

  get readyState(): number {
    return this.source.readyState;
  }

  /** Polls until `check` holds; fails after `timeoutMs` with what was received. */
  async until(check: (self: this) => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check(this)) {
      if (Date.now() > deadline) {
        throw new Error(
          `timed out waiting for ${what}; ${this.requests.length} requests, events ${JSON.stringify(
            this.events.map((e) => `${e.id}:${e.type}`),
          )}, errors ${JSON.stringify(this.errors)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  close(): void {
    this.source.close();
  }
}

export { EventSource };
