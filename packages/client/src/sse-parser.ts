/**
 * @module client/sse-parser
 * The event-stream interpretation of WHATWG HTML §9.2.6, for the client (which reads streams
 * with fetch): lines end at CRLF, LF or CR — also when a CRLF is split across chunks; an event
 * is dispatched at a blank line; `id` with NULL is ignored; `retry` takes digits only.
 */

export interface ParsedEvent {
  id: string | undefined;
  event: string;
  data: string;
}

export interface ParserCallbacks {
  onEvent(event: ParsedEvent): void;
  onRetry?(ms: number): void;
}

export class SseParser {
  readonly #callbacks: ParserCallbacks;
  #buffer = '';
  #data: string[] = [];
  #event = '';
  #lastEventId: string | undefined;
  /** The previous chunk ended in CR: a leading LF of the next one belongs to it. */
  #skipLeadingLf = false;
  #first = true;

  constructor(callbacks: ParserCallbacks) {
    this.#callbacks = callbacks;
  }

  /**
   * The stream's last event id so far, also when set by a frame that holds only an `id:` (the
   * feed starts with one): such a frame dispatches nothing, but a reconnect sends it.
   */
  get lastEventId(): string | undefined {
    return this.#lastEventId;
  }

  feed(chunk: string): void {
    let text = chunk;
    if (this.#first && text.length > 0) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      this.#first = false;
    }
    if (this.#skipLeadingLf && text.startsWith('\n')) text = text.slice(1);
    this.#skipLeadingLf = false;
    this.#buffer += text;
    let start = 0;
    for (let i = 0; i < this.#buffer.length; i++) {
      const c = this.#buffer.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.#line(this.#buffer.slice(start, i));
      if (c === 13) {
        if (i + 1 < this.#buffer.length) {
          if (this.#buffer.charCodeAt(i + 1) === 10) i++;
        } else {
          this.#skipLeadingLf = true;
        }
      }
      start = i + 1;
    }
    this.#buffer = this.#buffer.slice(start);
  }

  #line(line: string): void {
    if (line === '') {
      this.#dispatch();
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'data':
        this.#data.push(value);
        break;
      case 'event':
        this.#event = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.#lastEventId = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.#callbacks.onRetry?.(Number(value));
        break;
    }
  }

  #dispatch(): void {
    if (this.#data.length === 0) {
      this.#event = '';
      return;
    }
    const event = { id: this.#lastEventId, event: this.#event || 'message', data: this.#data.join('\n') };
    this.#data = [];
    this.#event = '';
    this.#callbacks.onEvent(event);
  }
}
