/**
 * @module bench/clients
 * A load-client process: holds many SSE streams on raw TCP sockets with the least parsing that
 * still sees every event (split on the blank line that ends an SSE event; HTTP chunk framing
 * uses CRLF and never contains one), and measures each progress event's delivery latency as
 * receive time − the event's `at` (same machine, same clock). A restatement (a progress event
 * with the id of the one before it: a queued job's new place, the stall signal) is counted but
 * not timed: its `at` is the time of the state it restates, not of a report. Driven by the orchestrator over
 * IPC; runs apart from the servers so its CPU is not counted as theirs.
 */
import { connect, type Socket } from 'node:net';
import { serve } from './lib/ipc.js';

interface Stream {
  socket: Socket;
  head: string;
  /** HTTP status once the headers are in; 0 before. */
  status: number;
  body: string;
  /** Any event or comment received (the stream is up). */
  ready: boolean;
  done: boolean;
  /** The `id:` of the last event, to tell a restatement from a report. */
  lastId: string;
  closed: boolean;
  /** Events still to be passed over uncounted (jobcast's state on connect, when asked). */
  skip: number;
}

export interface OpenArgs {
  port: number;
  paths: string[];
  /** Connections being set up at once. */
  concurrency?: number;
  timeoutMs?: number;
  /**
   * Pass over each stream's first event (jobcast's state on connect: its `at` is when the job
   * was submitted, not a delivery), so that only what happens after the stream opened counts.
   */
  skipFirst?: boolean;
  /** At most this many new connections per second (a ramp); default: as fast as `concurrency` allows. */
  ratePerSecond?: number;
  /**
   * Source address of the connections (127.0.0.x): loopback has ~28,000 ephemeral ports per
   * source and destination, so 100,000 streams to one port need several sources.
   */
  localAddress?: string;
}

export interface OpenResult {
  ready: number;
  failed: number;
  statuses: Record<string, number>;
  ms: number;
}

export interface ClientStats {
  streams: number;
  open: number;
  progress: number;
  done: number;
  other: number;
  /** Latencies (ms) of progress events received since `mark`. */
  latencies: Float64Array;
}

let streams: Stream[] = [];
let recording = false;
let progress = 0;
let done = 0;
let other = 0;
let latencies = new Float64Array(1 << 16);
let nLat = 0;
let lastAtText = '';
let lastAtMs = 0;
const AT = '"at":"';

function record(latency: number): void {
  if (nLat === latencies.length) {
    const bigger = new Float64Array(latencies.length * 2);
    bigger.set(latencies);
    latencies = bigger;
  }
  latencies[nLat++] = latency;
}

function onEvent(stream: Stream, text: string, now: number): void {
  stream.ready = true;
  const e = text.indexOf('event: ');
  if (e < 0) return; // retry:, a heartbeat comment
  // (HTTP chunk sizes may come first: the id is the last `id: ` line before `event: `.)
  const i = text.lastIndexOf('id: ', e);
  const id = i < 0 ? '' : text.slice(i + 4, text.indexOf('\n', i));
  const restated = id !== '' && id === stream.lastId;
  stream.lastId = id;
  if (stream.skip > 0) {
    stream.skip--;
    return;
  }
  if (!recording) return;
  if (text.startsWith('progress', e + 7)) {
    progress++;
    const a = restated ? -1 : text.indexOf(AT, e);
    if (a >= 0) {
      const at = text.slice(a + 6, a + 30);
      if (at !== lastAtText) {
        lastAtText = at;
        lastAtMs = Date.parse(at);
      }
      record(now - lastAtMs);
    }
  } else if (text.startsWith('done', e + 7)) {
    done++;
    stream.done = true;
  } else {
    other++;
  }
}

function onData(stream: Stream, chunk: Buffer): void {
  const now = performance.timeOrigin + performance.now();
  let text = chunk.toString('latin1');
  if (stream.status === 0) {
    stream.head += text;
    const end = stream.head.indexOf('\r\n\r\n');
    if (end < 0) return;
    stream.status = Number(stream.head.slice(9, 12));
    text = stream.head.slice(end + 4);
    stream.head = '';
    if (stream.status !== 200) {
      stream.socket.destroy();
      return;
    }
  }
  let body = stream.body + text;
  let cut = body.indexOf('\n\n');
  while (cut >= 0) {
    onEvent(stream, body.slice(0, cut), now);
    body = body.slice(cut + 2);
    cut = body.indexOf('\n\n');
  }
  stream.body = body;
}

function openOne(port: number, path: string, skip: number, localAddress?: string): Stream {
  const socket = connect({ host: '127.0.0.1', port, noDelay: true, localAddress });
  const stream: Stream = {
    socket,
    head: '',
    status: 0,
    body: '',
    ready: false,
    done: false,
    lastId: '',
    closed: false,
    skip,
  };
  socket.on('connect', () => {
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`);
  });
  socket.on('data', (chunk: Buffer) => onData(stream, chunk));
  socket.on('error', () => {});
  socket.on('close', () => {
    stream.closed = true;
  });
  return stream;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Opens streams, at most `concurrency` being set up at a time; resolves when each is up or failed. */
async function open({
  port,
  paths,
  concurrency = 200,
  timeoutMs = 60_000,
  skipFirst,
  ratePerSecond,
  localAddress,
}: OpenArgs): Promise<OpenResult> {
  const started = performance.now();
  const deadline = Date.now() + timeoutMs;
  const mine: Stream[] = [];
  let next = 0;
  const settled = (s: Stream) => s.ready || s.closed || (s.status !== 0 && s.status !== 200);
  let unsettled: Stream[] = [];
  while (Date.now() < deadline) {
    unsettled = unsettled.filter((s) => !settled(s));
    const allowed = ratePerSecond
      ? Math.min(paths.length, Math.floor(((performance.now() - started) / 1000) * ratePerSecond) + 1)
      : paths.length;
    for (let i = unsettled.length; i < concurrency && next < allowed; i++) {
      const stream = openOne(port, paths[next++] as string, skipFirst ? 1 : 0, localAddress);
      mine.push(stream);
      unsettled.push(stream);
    }
    if (next === paths.length && unsettled.every(settled)) break;
    await sleep(5);
  }
  streams.push(...mine);
  const statuses: Record<string, number> = {};
  for (const s of mine) statuses[s.status] = (statuses[s.status] ?? 0) + 1;
  const ready = mine.filter((s) => s.ready && !s.closed).length;
  return { ready, failed: paths.length - ready, statuses, ms: performance.now() - started };
}

function mark(): void {
  recording = true;
  progress = 0;
  done = 0;
  other = 0;
  nLat = 0;
}

function stats(): ClientStats {
  return {
    streams: streams.length,
    open: streams.filter((s) => !s.closed).length,
    progress,
    done,
    other,
    latencies: latencies.slice(0, nLat),
  };
}

/** Resolves once every stream has had `done` (or closed), or after `timeoutMs`. */
async function waitDone({ timeoutMs = 60_000 }: { timeoutMs?: number }): Promise<ClientStats> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !streams.every((s) => s.done || s.closed)) await sleep(20);
  return stats();
}

async function closeAll(): Promise<number> {
  const all = streams;
  streams = [];
  for (const s of all) s.socket.destroy();
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && !all.every((s) => s.closed)) await sleep(10);
  return all.length;
}

/**
 * Opens and closes `total` streams, `batch` at a time: each batch opens, waits for every stream
 * to be up, then drops them all.
 */
async function soak({
  port,
  paths,
  total,
  batch,
  timeoutMs = 300_000,
}: {
  port: number;
  paths: string[];
  total: number;
  batch: number;
  timeoutMs?: number;
}): Promise<{ opened: number; failed: number; ms: number }> {
  const started = performance.now();
  const deadline = Date.now() + timeoutMs;
  let opened = 0;
  let failed = 0;
  let k = 0;
  while (opened + failed < total && Date.now() < deadline) {
    const n = Math.min(batch, total - opened - failed);
    const batchPaths = Array.from({ length: n }, () => paths[k++ % paths.length] as string);
    const result = await open({ port, paths: batchPaths, concurrency: batch, timeoutMs: deadline - Date.now() });
    opened += result.ready;
    failed += result.failed;
    await closeAll();
  }
  return { opened, failed, ms: performance.now() - started };
}

serve({ open, mark, stats, waitDone, closeAll, soak });
