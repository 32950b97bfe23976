/**
 * `HEAD` on an event stream answers what a `GET` would start with, and ends there: the stream
 * headers, no stream, no slot, and the connection free for the next request. (A stream written
 * to a HEAD request never ended: its keep-alive connection answered nothing more, its slot was
 * held until the client went away, and hono's HEAD handling tried to answer it a second time.)
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness, waitFor } from './support/harness/harness.js';
import { bearer, KEY_A, KEYED_ENV, send, submitAs } from './support/http/security.js';

let h: Harness;
beforeAll(async () => {
  // No worker: the jobs stay queued, so their streams would open and stay open.
  h = await startHarness({ env: { ...KEYED_ENV, MAX_STREAMS_PER_CLIENT: '1' }, worker: false });
});
afterAll(async () => {
  await h?.close();
});

interface Answer {
  status: number;
  headers: Record<string, string>;
}

/**
 * Requests one after another on one keep-alive connection, as a raw socket (so nothing opens
 * another connection behind the test's back); each must be answered within 3 s. Only HEAD and
 * bodiless answers: an answer is its head. `whileOpen` runs before the connection is closed.
 */
async function onOneConnection(
  requests: { method: string; path: string }[],
  whileOpen: () => Promise<void> = async () => {},
): Promise<Answer[]> {
  const { hostname, port } = new URL(h.url);
  const socket = connect(Number(port), hostname);
  socket.setEncoding('utf8');
  let received = '';
  socket.on('data', (chunk: string) => {
    received += chunk;
  });
  try {
    const answers: Answer[] = [];
    for (const { method, path } of requests) {
      socket.write(`${method} ${path} HTTP/1.1\r\nhost: ${hostname}\r\nauthorization: Bearer ${KEY_A}\r\n\r\n`);
      await waitFor(() => received.includes('\r\n\r\n'), `${method} ${path} answered`, 3_000);
      const end = received.indexOf('\r\n\r\n');
      const [statusLine = '', ...lines] = received.slice(0, end).split('\r\n');
      received = received.slice(end + 4);
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      answers.push({ status: Number(statusLine.split(' ')[1]), headers });
    }
    await whileOpen();
    expect(received, 'nothing after the heads').toBe('');
    expect(socket.destroyed, 'the connection still open').toBe(false);
    return answers;
  } finally {
    socket.destroy();
  }
}

describe('HEAD on an event stream', () => {
  it('answers the stream headers and no stream, on a job’s stream, a multi-job stream and the feed', async () => {
    const job = await submitAs(h.url, KEY_A, { steps: 1, stepMs: 0 });
    const paths = [`/jobs/${job.id}/events`, `/events?jobs=${job.id}`, '/events/feed'];
    const answers = await onOneConnection(
      [
        ...paths.map((path) => ({ method: 'HEAD', path })),
        ...paths.map((path) => ({ method: 'HEAD', path })),
        { method: 'HEAD', path: '/healthz' },
      ],
      async () => {
        // Nothing was opened: no stream in the books, and this client's one stream slot is free.
        const metrics = await send(h.url, 'GET', '/metrics', { headers: bearer(KEY_A) });
        expect(metrics.text).toMatch(/^jobcast_open_streams 0$/m);
        const opened = new AbortController();
        const res = await fetch(`${h.url}/jobs/${job.id}/events`, { headers: bearer(KEY_A), signal: opened.signal });
        expect(res.status).toBe(200);
        opened.abort();
      },
    );
    for (const [i, answer] of answers.slice(0, -1).entries()) {
      const what = `HEAD ${paths[i % paths.length]}`;
      expect(answer.status, what).toBe(200);
      expect(answer.headers['content-type'], what).toBe('text/event-stream; charset=utf-8');
      expect(answer.headers['x-request-id'], what).toBeDefined();
    }
    expect(answers.at(-1)?.status).toBe(200);
  });

  it('answers as GET would where no stream opens: 404 for an unknown job', async () => {
    const answers = await onOneConnection([{ method: 'HEAD', path: `/jobs/${crypto.randomUUID()}/events` }]);
    expect(answers[0]?.status).toBe(404);
  });
});
