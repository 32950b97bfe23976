/**
 * Problem answers a client can act on: a method a path does not answer is a 405 whose
 * `Allow` lists exactly the methods documented for that path (so `/jobs/batch` is not taken
 * for a job id), validation answers stay small however much is wrong (at most 100 listed
 * errors, all counted in `totalErrors`), every problem `type` URI answers with its page, and
 * requests Node's HTTP parser refuses before any route (oversized headers, a malformed
 * `Content-Length`) are problems too, the connection then closed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../src/openapi/index.js';
import { MAX_LISTED_ERRORS, problemTypes } from '../src/problems.js';
import { type Harness, startHarness } from './support/harness/harness.js';
import { expectProblem } from './support/http/api.js';
import { expectContinueAnswers } from './support/http/expect-continue.js';
import { rawExchange } from './support/http/raw-exchange.js';

type Json = Record<string, unknown>;

const paths = openApiDocument().paths as Record<string, Json>;

/** A real path of a template: a job id where an id goes, a known asset or problem type. */
const concrete = (template: string) =>
  template.replace('{id}', crypto.randomUUID()).replace('{asset}', 'init.js').replace('{type}', 'job-not-found');

describe('problem answers', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ worker: false });
  });
  afterAll(async () => {
    await h?.close();
  });

  const send = async (method: string, path: string, body?: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${h.url}${path}`, { method, body, headers });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      bytes: Buffer.byteLength(text),
      body: (text && method !== 'HEAD' ? JSON.parse(text) : {}) as Json,
    };
  };

  it.each(Object.keys(paths))(
    '%s: a method it does not answer is a 405 whose Allow lists what it does',
    async (template) => {
      const documented = Object.keys(paths[template] as Json).map((m) => m.toUpperCase());
      if (documented.includes('GET')) documented.push('HEAD');
      const allow = documented.sort().join(', ');
      for (const method of [
        'OPTIONS',
        'PUT',
        'DELETE',
        'PATCH',
        ...['GET', 'POST'].filter((m) => !documented.includes(m)),
      ]) {
        const res = await send(method, concrete(template));
        const what = `${method} ${template}: ${JSON.stringify(res.body)}`;
        expect(res.status, what).toBe(405);
        expect(res.headers.get('allow'), what).toBe(allow);
        expectProblem(res, 405, 'method-not-allowed');
      }
    },
  );

  it('GET /jobs/batch is a 405 (Allow: POST), not a job called "batch"', async () => {
    const res = await send('GET', '/jobs/batch');
    expectProblem(res, 405, 'method-not-allowed');
    expect(res.headers.get('allow')).toBe('POST');
    expect(res.body.detail).toBe('GET is not allowed here; use POST');
    expect((await send('HEAD', '/jobs/batch')).status).toBe(405);
    // A job id is still a job id.
    expectProblem(await send('GET', `/jobs/${crypto.randomUUID()}`), 404, 'job-not-found');
  });

  it(`a batch of 100 jobs with 600 unknown fields each: ${MAX_LISTED_ERRORS} errors listed, 60,000 counted, a small answer`, async () => {
    const data = Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`unknown${i}`, 1]));
    const body = JSON.stringify({ jobs: Array.from({ length: 100 }, () => ({ type: 'simulate', data })) });
    expect(body.length).toBeGreaterThan(600_000);
    const res = await send('POST', '/jobs/batch', body, { 'content-type': 'application/json' });
    expectProblem(res, 422, 'validation-failed');
    expect(res.body.errors).toHaveLength(MAX_LISTED_ERRORS);
    expect(res.body.totalErrors).toBe(60_000);
    expect((res.body.errors as Json[])[0]).toEqual({
      path: 'jobs.0.data.unknown0',
      message: 'unknown field "unknown0"',
    });
    expect(res.body.detail).toMatch(/; and 59990 more$/);
    expect(res.bytes).toBeLessThan(16_000);
  });

  it(`1,500 unknown query parameters: ${MAX_LISTED_ERRORS} listed, 1,500 counted, a small answer`, async () => {
    // Listing needs a key (an open service lists nothing), so this one asks a keyed service.
    const keyed = await startHarness({ worker: false, env: { API_KEYS: 'problem-answers-key' } });
    const query = Array.from({ length: 1500 }, (_, i) => `p${i}=1`).join('&');
    const res = await fetch(`${keyed.url}/jobs?${query}`, { headers: { authorization: 'Bearer problem-answers-key' } })
      .then(async (r) => ({ status: r.status, headers: r.headers, text: await r.text() }))
      .then(({ text, ...rest }) => ({ ...rest, bytes: Buffer.byteLength(text), body: JSON.parse(text) as Json }))
      .finally(() => keyed.close());
    expectProblem(res, 400, 'bad-request');
    expect(res.body.errors).toHaveLength(MAX_LISTED_ERRORS);
    expect(res.body.totalErrors).toBe(1500);
    expect(res.bytes).toBeLessThan(12_000);
  });

  it('a field name of 100 KB is cut in the answer, not echoed three times', async () => {
    const name = 'x'.repeat(100_000);
    const res = await send('POST', '/jobs', JSON.stringify({ type: 'simulate', data: { [name]: 1 } }), {
      'content-type': 'application/json',
    });
    expectProblem(res, 422, 'validation-failed');
    const [error] = res.body.errors as { path: string; message: string }[];
    expect(error?.path.length).toBeLessThanOrEqual(200);
    expect(error?.path.startsWith('data.xxx')).toBe(true);
    expect(error?.path.endsWith('…')).toBe(true);
    expect(res.bytes).toBeLessThan(2_000);
  });

  it('a few errors are all listed, and quoted in the detail', async () => {
    const res = await send('POST', '/jobs', JSON.stringify({ type: 'simulate', data: { steps: 0, stepMs: -1 } }), {
      'content-type': 'application/json',
    });
    expectProblem(res, 422, 'validation-failed');
    expect(res.body.totalErrors).toBe(2);
    expect((res.body.errors as Json[]).map((e) => e.path)).toEqual(['data.steps', 'data.stepMs']);
    expect(res.body.detail).toContain('data.steps: ');
    expect(res.body.detail).toContain('data.stepMs: ');
  });

  it.each(Object.keys(problemTypes))(
    '/problems/%s answers with its page: title, status, when, what to do',
    async (type) => {
      const res = await fetch(`${h.url}/problems/${type}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      const html = await res.text();
      const entry = problemTypes[type as keyof typeof problemTypes];
      expect(html).toContain(`<h1>${entry.title}</h1>`);
      expect(html).toContain(`HTTP ${entry.status}`);
      expect(html).toContain('When it happens');
      expect(html).toContain('What to do');
      // No inline script or style: the page runs under the strict CSP.
      expect(html).not.toMatch(/<script|<style|style=/);
    },
  );

  it('an unknown problem type is a 404, and the index links every type', async () => {
    expectProblem(await send('GET', '/problems/toString'), 404, 'not-found');
    const index = await (await fetch(`${h.url}/problems`)).text();
    for (const type of Object.keys(problemTypes)) expect(index).toContain(`href="/problems/${type}"`);
  });
});

describe('requests the HTTP parser refuses', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ worker: false });
  });
  afterAll(async () => {
    await h?.close();
  });

  const parse = (answer: string) => {
    const [head = '', body = ''] = answer.split('\r\n\r\n');
    return { statusLine: head.split('\r\n')[0], head: head.toLowerCase(), body: JSON.parse(body) as Json };
  };

  it('a request line and headers past 16 KiB: a 431 problem, then the connection closes', async () => {
    const answer = parse(await rawExchange(h.url, `GET /jobs/${'x'.repeat(20_000)} HTTP/1.1\r\nhost: x\r\n\r\n`));
    expect(answer.statusLine).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(answer.head).toContain('content-type: application/problem+json');
    expect(answer.head).toContain('connection: close');
    // As every answer: a request id (a new one: the request's headers were never read), nosniff.
    expect(answer.head).toMatch(/^x-request-id: [0-9a-f-]{36}$/m);
    expect(answer.head).toContain('x-content-type-options: nosniff');
    expect(answer.body).toEqual({
      type: '/problems/headers-too-large',
      title: 'Request header fields too large',
      status: 431,
      detail: 'the request line and headers are larger than 16384 bytes',
    });
  });

  it('Expect: 100-continue with a body past MAX_BODY_BYTES: the 413 comes instead of 100 Continue; a small one is invited', async () => {
    await expectContinueAnswers(h.url, h.config.MAX_BODY_BYTES);
  });

  it('the same for a HEAD request: the headers, no body', async () => {
    const answer = await rawExchange(h.url, 'HEAD ?token= HTTP/1.1\r\nhost: x\r\n\r\n');
    const [head = '', body] = answer.split('\r\n\r\n');
    expect(head.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    expect(head.toLowerCase()).toContain('content-type: application/problem+json');
    expect(body).toBe('');
  });

  it('a Content-Length that is not a number: a 400 problem, then the connection closes', async () => {
    const answer = parse(await rawExchange(h.url, 'POST /jobs HTTP/1.1\r\nhost: x\r\ncontent-length: abc\r\n\r\n{}'));
    expect(answer.statusLine).toBe('HTTP/1.1 400 Bad Request');
    expect(answer.head).toMatch(/^x-request-id: [0-9a-f-]{36}$/m);
    expect(answer.body).toMatchObject({ type: '/problems/bad-request', status: 400 });
    expect(String(answer.body.detail)).toMatch(/^not a readable HTTP request \(HPE_/);
  });
});
