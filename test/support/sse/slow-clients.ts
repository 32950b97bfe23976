/**
 * Clients that stop reading, and the process figures that show what they cost the server.
 *
 * - {@link openNonReadingSocket}: a raw TCP socket that sends one GET and never reads again,
 *   as a frozen browser tab or a dead mobile link looks to the server. Its kernel buffers
 *   (a few MB on loopback) fill, then the server's socket refuses writes.
 * - {@link openPausedStream}: an HTTP client whose response stays paused until the test says
 *   so, then is read to the end and parsed.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createParser } from 'eventsource-parser';
import type { WireEvent } from './wire.js';

export interface NonReadingSocket {
  socket: Socket;
  /** Starts reading again; resolves with everything the socket then delivers, at its end. */
  drain(timeoutMs: number): Promise<{ text: string; ended: boolean }>;
  close(): void;
}

/** Sends `GET url` on a raw socket and stops reading at once. */
export async function openNonReadingSocket(url: string): Promise<NonReadingSocket> {
  const { hostname, port, pathname, search } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.pause();
  socket.write(
    `GET ${pathname}${search} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n`,
  );
  return {
    socket,
    drain(timeoutMs) {
      return new Promise((resolve) => {
        const chunks: Buffer[] = [];
        const done = (ended: boolean) => {
          clearTimeout(timer);
          resolve({ text: Buffer.concat(chunks).toString('utf8'), ended });
        };
        const timer = setTimeout(() => done(false), timeoutMs);
        socket.on('data', (chunk: Buffer) => chunks.push(chunk));
        socket.once('close', () => done(true));
        socket.resume();
      });
    },
    close() {
      socket.destroy();
    },
  };
}

export interface PausedStream {
  response: Promise<IncomingMessage>;
  /** Reads the rest of the response; resolves with every event once it ends. */
  readToEnd(timeoutMs: number): Promise<WireEvent[]>;
  close(): void;
}

/** Opens `GET url` and leaves the response unread (paused) until {@link PausedStream.readToEnd}. */
export function openPausedStream(url: string, headers: Record<string, string> = {}): PausedStream {
  const req = httpRequest(url, { agent: false, headers: { accept: 'text/event-stream', ...headers } });
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    req.once('response', (res) => {
      res.pause();
      resolve(res);
    });
    req.once('error', reject);
  });
  response.catch(() => {});
  req.end();
  return {
    response,
    async readToEnd(timeoutMs) {
      const res = await response;
      const events: WireEvent[] = [];
      const parser = createParser({
        onEvent: (m) =>
          events.push({
            type: m.event ?? 'message',
            id: m.id,
            data: m.data,
            json: JSON.parse(m.data) as Record<string, unknown>,
            at: Date.now(),
          }),
      });
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`stream did not end within ${timeoutMs} ms`)), timeoutMs);
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => parser.feed(chunk));
        res.once('close', () => {
          clearTimeout(timer);
          resolve(events);
        });
        res.resume();
      });
    },
    close() {
      req.destroy();
    },
  };
}

export interface CountingStream {
  /** Events received so far. */
  readonly count: number;
  /** Arrival time (Date.now()) of each event, by id. */
  readonly arrivals: Map<string, number>;
  /** The first event, once it arrives. */
  readonly first: Promise<void>;
  /** `done` and its arrival time. */
  readonly done: Promise<{ id: string; at: number; data: Record<string, unknown> }>;
  close(): void;
}

/**
 * A normal, reading client that keeps nothing but counts and arrival times, so that what
 * it receives does not show up in the memory figures of the server it shares a process with.
 */
export function openCountingStream(url: string, timeoutMs: number): CountingStream {
  const arrivals = new Map<string, number>();
  let count = 0;
  let gotFirst: () => void = () => {};
  const first = new Promise<void>((resolve) => {
    gotFirst = resolve;
  });
  let gotDone: (done: { id: string; at: number; data: Record<string, unknown> }) => void = () => {};
  let failed: (error: Error) => void = () => {};
  const done = new Promise<{ id: string; at: number; data: Record<string, unknown> }>((resolve, reject) => {
    gotDone = resolve;
    failed = reject;
  });
  done.catch(() => {});
  const timer = setTimeout(() => failed(new Error(`no done within ${timeoutMs} ms (${count} events)`)), timeoutMs);
  const parser = createParser({
    onEvent(message) {
      count++;
      const at = Date.now();
      if (message.id) arrivals.set(message.id, at);
      if (count === 1) gotFirst();
      if (message.event === 'done') {
        clearTimeout(timer);
        gotDone({ id: message.id ?? '', at, data: JSON.parse(message.data) as Record<string, unknown> });
      }
    },
  });
  const req = httpRequest(url, { agent: false, headers: { accept: 'text/event-stream' } });
  req.once('response', (res) => {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => parser.feed(chunk));
    res.once('close', () => failed(new Error(`stream closed before done (${count} events)`)));
  });
  req.once('error', (error) => failed(error));
  req.end();
  return {
    get count() {
      return count;
    },
    arrivals,
    first,
    done,
    close() {
      clearTimeout(timer);
      req.destroy();
    },
  };
}

let gcFn: (() => void) | undefined;

/** A full garbage collection, even without `--expose-gc` (enabled at run time). */
export function collectGarbage(): void {
  if (!gcFn) {
    const global = globalThis as { gc?: () => void };
    if (global.gc) gcFn = global.gc;
    else {
      setFlagsFromString('--expose-gc');
      gcFn = runInNewContext('gc') as () => void;
    }
  }
  gcFn();
  gcFn();
}

export interface MemoryFigures {
  heapUsed: number;
  /** Memory outside the JS heap: Buffers (stream frames) live here. */
  external: number;
}

export function memoryNow(): MemoryFigures {
  const { heapUsed, external } = process.memoryUsage();
  return { heapUsed, external };
}

/** Samples memory every `everyMs` until stopped; returns the peaks. */
export function samplePeaks(everyMs = 20): { stop(): MemoryFigures } {
  const peak = memoryNow();
  const timer = setInterval(() => {
    const now = memoryNow();
    peak.heapUsed = Math.max(peak.heapUsed, now.heapUsed);
    peak.external = Math.max(peak.external, now.external);
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}

export const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
