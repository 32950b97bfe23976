/**
 * Request bodies, over real HTTP (Node's `http`, bodies streamed as a client would): every
 * endpoint that takes a body — `POST /jobs`, `POST /jobs/batch`, `POST /events/tokens` — reads it
 * through one reader, with one size limit (413, from the declared length or as the bytes
 * arrive) and one content-type rule (415); nothing is read before authentication; an open
 * service refuses stream tokens without reading the body; and a client that goes away mid-body
 * is not a server error.
 */
import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type RunningApi, startApi } from '../src/server.js';
import { type Harness, startHarness, waitFor } from './support/harness/harness.js';
import { type RecordingLogger, recordingLogger } from './support/harness/recording-logger.js';
import { bearer, KEY_A, send, startKeyedHarness, submitAs } from './support/http/security.js';

const MAX_BODY_BYTES = 4096;
const MiB = 1024 * 1024;

let keyed: Harness;
let open: Harness;
/** A second API on the keyed harness's Redis and config, logging into {@link log}. */
let logged: RunningApi;
let log: RecordingLogger;
let jobId: string;

beforeAll(async () => {
  keyed = await startKeyedHarness({ MAX_BODY_BYTES: String(MAX_BODY_BYTES) }, { worker: false });
  open = await startHarness({ env: { MAX_BODY_BYTES: String(MAX_BODY_BYTES) }, worker: false });
  log = recordingLogger();
  logged = await startApi(keyed.config, keyed.redisUrl, log);
  jobId = (await submitAs(keyed.url, KEY_A)).id;
});
afterAll(async () => {
  await Promise.all([logged?.close(), keyed?.close(), open?.close()]);
});

/** A body that is valid JSON at any size (JSON allows any amount of whitespace). */
function paddedBody(path: string, bytes: number): { head: string; tail: string; pad: number } {
  const [head, tail] =
    path === '/jobs'
      ? ['{"type":"simulate",', '"data":{"steps":1}}']
      : path === '/jobs/batch'
        ? ['{"jobs":[', '{"type":"simulate"}]}']
        : ['{"jobs":[', `"${jobId}"]}`];
  return { head, tail, pad: Math.max(0, bytes - head.length - tail.length) };
}

interface Streamed {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: Record<string, unknown> | undefined;
  /** Body bytes the client had written when the answer arrived. */
  sentWhenAnswered: number;
  total: number;
}

/**
 * POSTs a body of `bytes` bytes, written in 64 KiB chunks as the socket takes them, and stops
 * writing once the answer arrives. `declare`: send Content-Length (else chunked).
 */
function streamBody(
  base: string,
  path: string,
  bytes: number,
  options: { declare: boolean; headers?: Record<string, string> },
): Promise<Streamed> {
  const { head, tail, pad } = paddedBody(path, bytes);
  const total = head.length + pad + tail.length;
  const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers };
  if (options.declare) headers['content-length'] = String(total);
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, method: 'POST', path, headers, agent: false });
    let written = 0;
    let answered = false;
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no answer within 20 s (${written} of ${total} bytes written)`));
    }, 20_000);
    req.once('error', (error) => {
      if (!answered) reject(error);
    });
    req.once('response', (res) => {
      answered = true;
      const sentWhenAnswered = written;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('end', () => {
        clearTimeout(timer);
        req.destroy();
        const text = Buffer.concat(chunks).toString('utf8');
        let json: Record<string, unknown> | undefined;
        try {
          json = JSON.parse(text) as Record<string, unknown>;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json, sentWhenAnswered, total });
      });
    });
    const spaces = Buffer.alloc(64 * 1024, ' ');
    const pump = () => {
      if (answered) return;
      if (written === 0) {
        req.write(head);
        written += head.length;
      }
      while (!answered && written < head.length + pad) {
        const n = Math.min(spaces.length, head.length + pad - written);
        written += n;
        if (!req.write(n === spaces.length ? spaces : spaces.subarray(0, n))) return void req.once('drain', pump);
      }
      if (!answered && written < total) {
        written += tail.length;
        req.end(tail);
      }
    };
    pump();
  });
}

const BODY_ENDPOINTS = ['/jobs', '/jobs/batch', '/events/tokens'] as const;

describe('the size limit (MAX_BODY_BYTES=4096), on every endpoint that takes a body', () => {
  it.each(BODY_ENDPOINTS)('%s: a body that fits is read (2xx)', async (path) => {
    const res = await streamBody(keyed.url, path, 3_000, { declare: false, headers: bearer(KEY_A) });
    expect(res.status, JSON.stringify(res.json)).toBe(path === '/events/tokens' ? 201 : 202);
  });

  it.each(BODY_ENDPOINTS)(
    '%s: a declared 20 MB body is a 413 from its headers, before a byte is read',
    async (path) => {
      const res = await streamBody(keyed.url, path, 20 * MiB, { declare: true, headers: bearer(KEY_A) });
      expect(res.status, JSON.stringify(res.json)).toBe(413);
      expect(res.json).toMatchObject({ type: '/problems/payload-too-large', status: 413 });
      // Answered while the client had sent a tiny part of it (socket buffers at most).
      expect(res.sentWhenAnswered).toBeLessThan(4 * MiB);
    },
  );

  it.each(BODY_ENDPOINTS)(
    '%s: a chunked 20 MB body (no length) is a 413 once 4096 bytes have arrived',
    async (path) => {
      const res = await streamBody(keyed.url, path, 20 * MiB, { declare: false, headers: bearer(KEY_A) });
      expect(res.status, JSON.stringify(res.json)).toBe(413);
      expect(res.json).toMatchObject({ type: '/problems/payload-too-large' });
      expect(res.sentWhenAnswered).toBeLessThan(4 * MiB);
    },
  );

  it('refuses a declared oversized body on any route, not only those that read one', async () => {
    for (const path of [`/jobs/${jobId}/cancel`, '/no-such-route']) {
      const res = await streamBody(keyed.url, path, 20 * MiB, { declare: true, headers: bearer(KEY_A) });
      expect(res.status, path).toBe(413);
    }
  });
});

describe('the content-type rule, on every endpoint that takes a body', () => {
  it.each(BODY_ENDPOINTS)('%s: text/plain and no content type are 415 with Accept-Post', async (path) => {
    const { head, tail } = paddedBody(path, 0);
    const body = `${head}${tail}`;
    const text = await send(keyed.url, 'POST', path, {
      headers: { ...bearer(KEY_A), 'content-type': 'text/plain' },
      body,
    });
    const none = await postWithoutType(keyed.url, path, body, bearer(KEY_A));
    for (const [what, res] of [
      ['text/plain', text],
      ['no content type', none],
    ] as const) {
      expect(res.status, `${path}, ${what}: ${res.text}`).toBe(415);
      expect(res.json).toMatchObject({ type: '/problems/unsupported-media-type' });
      expect(res.headers.get('accept-post')).toBe('application/json');
    }
  });

  it.each(BODY_ENDPOINTS)(
    '%s: JSON in another charset than UTF-8 is 415, not misread; utf-8 named is fine',
    async (path) => {
      const { head, tail } = paddedBody(path, 0);
      const body = `${head}${tail}`;
      const latin1 = await send(keyed.url, 'POST', path, {
        headers: { ...bearer(KEY_A), 'content-type': 'application/json; charset=latin1' },
        body,
      });
      expect(latin1.status, latin1.text).toBe(415);
      expect(latin1.json).toMatchObject({ type: '/problems/unsupported-media-type' });
      expect(String(latin1.json?.detail)).toContain('charset=latin1');
      const utf8 = await send(keyed.url, 'POST', path, {
        headers: { ...bearer(KEY_A), 'content-type': 'application/json; charset="UTF-8"' },
        body,
      });
      expect(utf8.status, utf8.text).not.toBe(415);
    },
  );

  it.each(BODY_ENDPOINTS)(
    '%s: a compressed body is 415 with Accept-Encoding, not read as malformed JSON',
    async (path) => {
      const { head, tail } = paddedBody(path, 0);
      const res = await send(keyed.url, 'POST', path, {
        headers: { ...bearer(KEY_A), 'content-type': 'application/json', 'content-encoding': 'gzip' },
        body: gzipSync(`${head}${tail}`),
      });
      expect(res.status, res.text).toBe(415);
      expect(res.json).toMatchObject({
        type: '/problems/unsupported-media-type',
        detail: expect.stringMatching(/uncompressed, not with Content-Encoding: gzip$/),
      });
      expect(res.headers.get('accept-encoding')).toBe('identity');
    },
  );

  it.each(BODY_ENDPOINTS)(
    '%s: a leading byte order mark is ignored (RFC 8259 §8.1), one inside is not',
    async (path) => {
      const { head, tail } = paddedBody(path, 0);
      const headers = { ...bearer(KEY_A), 'content-type': 'application/json' };
      const res = await send(keyed.url, 'POST', path, { headers, body: `\ufeff${head}${tail}` });
      expect(res.status, res.text).toBe(path === '/events/tokens' ? 201 : 202);
      const inside = await send(keyed.url, 'POST', path, { headers, body: `${head}${tail}`.replace(':', ':\ufeff') });
      expect(inside.status).toBe(400);
      expect(inside.json).toMatchObject({ type: '/problems/malformed-json' });
    },
  );

  it.each(BODY_ENDPOINTS)('%s: malformed JSON is a 400 problem', async (path) => {
    const res = await send(keyed.url, 'POST', path, { headers: bearer(KEY_A), body: '{"jobs": [' });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ type: '/problems/malformed-json' });
  });
});

/** A POST whose only headers are `headers` and the length: no Content-Type at all. */
function postWithoutType(base: string, path: string, body: string, headers: Record<string, string>) {
  const { hostname, port } = new URL(base);
  return new Promise<{ status: number; headers: Headers; text: string; json: unknown }>((resolve, reject) => {
    const req = request({
      host: hostname,
      port,
      method: 'POST',
      path,
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      agent: false,
    });
    req.once('error', reject);
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const out = new Headers();
        for (const [name, value] of Object.entries(res.headers)) if (typeof value === 'string') out.set(name, value);
        resolve({ status: res.statusCode ?? 0, headers: out, text, json: JSON.parse(text) });
      });
    });
    req.end(body);
  });
}

describe('nothing is read before authentication', () => {
  it.each(BODY_ENDPOINTS)('%s without a key: 401 while the body is still on its way', async (path) => {
    const res = await streamBody(keyed.url, path, 20 * MiB, { declare: false });
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({ type: '/problems/unauthorized' });
    expect(res.sentWhenAnswered).toBeLessThan(4 * MiB);
  });

  it('an open service refuses POST /events/tokens (there is nothing to issue) without reading its body', async () => {
    // Before: a 100 MiB body was read whole, then answered 400 after 8.6 s.
    const started = Date.now();
    const res = await streamBody(open.url, '/events/tokens', 100 * MiB, { declare: false });
    expect(res.status).toBe(400);
    expect(res.json?.detail).toMatch(/only .* when API keys are configured/);
    expect(res.sentWhenAnswered).toBeLessThan(4 * MiB);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('a client that goes away mid-body', () => {
  it('is logged as a closed request (499, not an error), and the service carries on', async () => {
    const consoleErrors = vi.spyOn(console, 'error');
    try {
      const ids: string[] = [];
      for (const path of BODY_ENDPOINTS) {
        const requestId = `aborted-${path.replaceAll('/', '-')}`;
        ids.push(requestId);
        await abortMidBody(logged.url, path, { ...bearer(KEY_A), 'x-request-id': requestId });
      }
      await waitFor(
        () => ids.every((id) => log.lines.some((l) => l.msg === 'request' && l.fields.requestId === id)),
        'an access-log line for every aborted request',
      );
      for (const id of ids) {
        const access = log.lines.find((l) => l.msg === 'request' && l.fields.requestId === id);
        expect(access?.fields.status, id).toBe(499);
        expect(access?.level, id).toBe('info');
      }
      expect(log.lines.filter((l) => l.level === 'error')).toEqual([]);
      expect(consoleErrors).not.toHaveBeenCalled();
      // Still serving.
      expect(
        (await send(logged.url, 'POST', '/jobs', { headers: bearer(KEY_A), body: { type: 'simulate' } })).status,
      ).toBe(202);
    } finally {
      consoleErrors.mockRestore();
    }
  });
});

/**
 * Announces a 4,000-byte body, waits for the server's `100 Continue` (it has the request and
 * is about to read), sends 1,000 bytes and drops the connection.
 */
function abortMidBody(base: string, path: string, headers: Record<string, string>): Promise<void> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({
      host: hostname,
      port,
      method: 'POST',
      path,
      agent: false,
      headers: { ...headers, 'content-type': 'application/json', 'content-length': '4000', expect: '100-continue' },
    });
    req.once('error', () => resolve());
    req.once('response', (res) => reject(new Error(`answered ${res.statusCode} before the body was complete`)));
    req.once('continue', () => {
      req.write(Buffer.alloc(1_000, ' '), () => {
        setImmediate(() => {
          req.destroy();
          resolve();
        });
      });
    });
    req.flushHeaders();
  });
}
