/**
 * HTTP/2: with TLS_CERT and TLS_KEY the API serves HTTPS with HTTP/2 (HTTP/1.1 fallback).
 * Many streams share one connection, and clients vanishing mid-stream leave the process
 * running and its bookkeeping clean. A client that connects and never sends a request (or
 * never finishes its TLS handshake) is cut after HTTP_HEADERS_TIMEOUT_MS, as over HTTP/1.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { type ClientHttp2Session, connect } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { createParser } from 'eventsource-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness, waitFor } from './support/harness/harness.js';
import { expectContinueAnswers } from './support/http/expect-continue.js';
import { rawExchange } from './support/http/raw-exchange.js';

let h: Harness;
let dir: string;
const HEADERS_TIMEOUT_MS = 1000;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jobcast-tls-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  h = await startHarness({
    env: { TLS_CERT: cert, TLS_KEY: key, HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS) },
  });
});

afterAll(async () => {
  await h?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Opens one SSE stream on an HTTP/2 session and resolves with the event names it saw. */
function h2Stream(session: ClientHttp2Session, path: string, onEvent?: (type: string) => void) {
  const req = session.request({ ':path': path, accept: 'text/event-stream' });
  const types: string[] = [];
  const parser = createParser({
    onEvent: (e) => {
      types.push(e.event ?? 'message');
      onEvent?.(e.event ?? 'message');
    },
  });
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => parser.feed(chunk));
  const status = new Promise<number>((resolve) =>
    req.once('response', (headers) => resolve(Number(headers[':status']))),
  );
  const ended = new Promise<string[]>((resolve, reject) => {
    req.once('end', () => resolve(types));
    req.once('error', reject);
  });
  return { req, status, ended, types };
}

describe('HTTP/2 over TLS', () => {
  it('carries 50 concurrent streams on one connection, each to done', async () => {
    expect(h.url).toMatch(/^https:/);
    const job = await postJob({ type: 'simulate', data: { steps: 8, stepMs: 50 } });
    const session = connect(h.url, { rejectUnauthorized: false });
    try {
      const streams = Array.from({ length: 50 }, () => h2Stream(session, `/jobs/${job}/events`));
      expect(new Set(await Promise.all(streams.map((s) => s.status)))).toEqual(new Set([200]));
      const results = await Promise.all(streams.map((s) => s.ended));
      for (const types of results) {
        expect(types[0]).toBe('progress');
        expect(types.at(-1)).toBe('done');
        expect(types.filter((t) => t === 'done')).toHaveLength(1);
      }
    } finally {
      session.close();
    }
  });

  it('survives clients vanishing mid-stream, and releases what they held', async () => {
    const job = await postJob({ type: 'simulate', data: { steps: 40, stepMs: 50 } });
    for (let round = 0; round < 3; round++) {
      const session = connect(h.url, { rejectUnauthorized: false });
      const streams = Array.from({ length: 50 }, () => h2Stream(session, `/jobs/${job}/events`));
      for (const s of streams) s.ended.catch(() => {});
      await Promise.all(streams.map((s) => s.status));
      await waitFor(() => streams.every((s) => s.types.length > 0), 'first events');
      // Vanish: half cancel their stream, then the whole connection is torn down.
      for (const s of streams.slice(0, 25)) s.req.close();
      session.destroy();
    }
    await waitFor(() => h.api.connections.size === 0, 'all HTTP/2 streams released');
    expect(h.api.hub.topicCount).toBe(0);
    // Still serving.
    const res = await fetchJson(`/jobs/${job}`);
    expect(res.status).toBe(200);
  });

  it('answers a request the HTTP/1.1 parser refuses over TLS with a problem too', async () => {
    const answer = await rawExchange(h.url, `GET /jobs/${'x'.repeat(20_000)} HTTP/1.1\r\nhost: x\r\n\r\n`, {
      tls: true,
    });
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(answer).toContain('"type":"/problems/headers-too-large"');
  });

  it('Expect: 100-continue over TLS (HTTP/1.1): a body past MAX_BODY_BYTES gets its 413 instead of 100 Continue; a small one is invited', async () => {
    await expectContinueAnswers(h.url, h.config.MAX_BODY_BYTES, { tls: true });
  });

  it('Expect: 100-continue over HTTP/2: the same', async () => {
    const ask = async (length: number, body?: string) => {
      const session = connect(h.url, { rejectUnauthorized: false });
      try {
        const req = session.request(
          {
            ':path': '/jobs',
            ':method': 'POST',
            'content-type': 'application/json',
            'content-length': String(length),
            expect: '100-continue',
          },
          { endStream: false },
        );
        let invited = false;
        // The body goes only once the server asked for it.
        req.once('continue', () => {
          invited = true;
          req.end(body);
        });
        const status = await new Promise<number>((resolve) =>
          req.once('response', (hd) => resolve(Number(hd[':status']))),
        );
        req.resume();
        if (!invited) req.close();
        return { status, invited };
      } finally {
        session.close();
      }
    };
    expect(await ask(h.config.MAX_BODY_BYTES + 1)).toEqual({ status: 413, invited: false });
    const body = JSON.stringify({ type: 'simulate', data: { steps: 1, stepMs: 0 } });
    expect(await ask(Buffer.byteLength(body), body)).toEqual({ status: 202, invited: true });
  });

  it('falls back to HTTP/1.1 for clients without HTTP/2', async () => {
    const job = await postJob({ type: 'simulate', data: { steps: 2, stepMs: 10 } });
    const { httpVersion, text } = await http1Stream(`/jobs/${job}/events`);
    expect(httpVersion).toBe('1.1');
    expect(text).toContain('event: done');
  });
});

describe('HTTP/2 clients that never send a request', () => {
  /** Resolves with how long `socket` stayed open, failing after 10 s. */
  const lifetime = (on: (done: () => void) => void) =>
    new Promise<number>((resolve, reject) => {
      const started = Date.now();
      const timer = setTimeout(() => reject(new Error('still open after 10 s')), 10_000);
      on(() => {
        clearTimeout(timer);
        resolve(Date.now() - started);
      });
    });

  it('an HTTP/2 session with no request is closed after HTTP_HEADERS_TIMEOUT_MS', async () => {
    const session = connect(h.url, { rejectUnauthorized: false });
    session.on('error', () => {});
    const ms = await lifetime((done) => session.once('close', done));
    expect(ms).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 100);
    expect(ms).toBeLessThan(HEADERS_TIMEOUT_MS + 3_000);
  });

  it('a TLS connection that sends nothing after the handshake, or never starts it, is closed too', async () => {
    const { hostname, port } = new URL(h.url);
    const tls = tlsConnect({ host: hostname, port: Number(port), rejectUnauthorized: false, ALPNProtocols: ['h2'] });
    tls.on('error', () => {});
    const tcp = netConnect({ host: hostname, port: Number(port) });
    tcp.on('error', () => {});
    // Reading, so that the server closing its end is seen here.
    tls.resume();
    tcp.resume();
    const [afterHandshake, noHandshake] = await Promise.all([
      lifetime((done) => tls.once('close', done)),
      lifetime((done) => tcp.once('close', done)),
    ]);
    expect(tls.alpnProtocol).toBe('h2');
    expect(afterHandshake).toBeLessThan(HEADERS_TIMEOUT_MS + 3_000);
    expect(noHandshake).toBeLessThan(HEADERS_TIMEOUT_MS + 3_000);
  });

  it('an HTTP/1.1-over-TLS client that never finishes its request headers is closed too', async () => {
    const { hostname, port } = new URL(h.url);
    const tls = tlsConnect({
      host: hostname,
      port: Number(port),
      rejectUnauthorized: false,
      ALPNProtocols: ['http/1.1'],
    });
    tls.on('error', () => {});
    tls.once('secureConnect', () => tls.write('GET /healthz HTTP/1.1\r\nhost: x\r\n'));
    tls.resume();
    const ms = await lifetime((done) => tls.once('close', done));
    expect(tls.alpnProtocol).toBe('http/1.1');
    expect(ms).toBeLessThan(HEADERS_TIMEOUT_MS + 3_000);
  });

  it('a stream open for longer than that is not cut, over HTTP/2 and HTTP/1.1', async () => {
    const job = await postJob({ type: 'simulate', data: { steps: 4, stepMs: 600 } });
    const session = connect(h.url, { rejectUnauthorized: false });
    try {
      const stream = h2Stream(session, `/jobs/${job}/events`);
      const overHttp1 = http1Stream(`/jobs/${job}/events`);
      expect(await stream.status).toBe(200);
      expect((await stream.ended).at(-1)).toBe('done');
      expect((await overHttp1).text).toContain('event: done');
    } finally {
      session.close();
    }
  });
});

/** Reads a whole response over HTTPS without HTTP/2 (Node's https client speaks HTTP/1.1). */
function http1Stream(path: string): Promise<{ httpVersion: string; text: string }> {
  return new Promise((resolve, reject) => {
    // agent: false — a connection of its own, closed with the response (not pooled by the global
    // agent for its idle time-out, which the leak check after each test would wait out).
    const req = httpsRequest(`${h.url}${path}`, { rejectUnauthorized: false, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => resolve({ httpVersion: res.httpVersion, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** One HTTP/2 request with a JSON body; returns status and parsed body. */
async function fetchJson(path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const session = connect(h.url, { rejectUnauthorized: false });
  try {
    const req = session.request({
      ':path': path,
      ':method': body === undefined ? 'GET' : 'POST',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    });
    if (body !== undefined) req.write(JSON.stringify(body));
    req.end();
    const status = await new Promise<number>((resolve) => req.once('response', (hd) => resolve(Number(hd[':status']))));
    let text = '';
    req.setEncoding('utf8');
    for await (const chunk of req) text += chunk;
    return { status, json: JSON.parse(text) as Record<string, unknown> };
  } finally {
    session.close();
  }
}

async function postJob(body: unknown): Promise<string> {
  const res = await fetchJson('/jobs', body);
  expect(res.status).toBe(202);
  return res.json.id as string;
}
