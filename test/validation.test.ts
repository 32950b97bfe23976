/**
 * Bad input gets a clear RFC 9457 problem and changes nothing (DESIGN: "Nothing lost … Bad
 * input gets a clear problem response and changes nothing"): after every rejected request,
 * BullMQ holds no new job and Redis no new key of ours. Good input gets its defaults filled in.
 * Ends with a property: no body and no content type ever makes POST /jobs answer 5xx.
 */
import { request } from 'node:http';
import { Queue } from 'bullmq';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness, waitFor } from './support/harness/harness.js';
import { expectProblem, type ProblemBody } from './support/http/api.js';
import { watch } from './support/sse/sse.js';

/** Small, so a few KB is "too large"; the property test crosses it too. */
const MAX_BODY_BYTES = 2048;

let h: Harness;
let queue: Queue;

beforeAll(async () => {
  // The submission rate limit is off: this file sends a few hundred requests from one address,
  // and its counters are not what "changes nothing" is about.
  h = await startHarness({ env: { MAX_BODY_BYTES: String(MAX_BODY_BYTES), RATE_LIMIT_PER_MINUTE: '0' } });
  queue = new Queue(h.config.QUEUE_NAME, { connection: h.redis, prefix: `{${h.config.KEY_PREFIX}}` });
});

afterAll(async () => {
  await queue?.close();
  await h?.close();
});

type Problem = ProblemBody & { errors?: { path: string; message: string }[] };

interface Reply {
  status: number;
  contentType: string;
  text: string;
}

/** What a request could have changed: BullMQ jobs in our queue, and our keys. */
async function footprint(): Promise<{ jobs: number; keys: string[] }> {
  const counts = await queue.getJobCounts();
  // The reconciler's bookkeeping changes in the background, whatever a request does: its lock
  // and cursor come and go, and the unfinished set empties as earlier jobs finish.
  const background = /:(reconciler:lock|reconciler:cursor|unfinished)$/;
  const keys = (await h.redis.keys(`${h.config.KEY_PREFIX}:*`)).filter((key) => !background.test(key));
  return { jobs: Object.values(counts).reduce((a, b) => a + b, 0), keys: keys.sort() };
}

/** POSTs raw bytes (so no content type is added unless given). */
async function post(body: string, contentType?: string, path = '/jobs'): Promise<Reply> {
  const res = await fetch(`${h.url}${path}`, {
    method: 'POST',
    headers: contentType === undefined ? {} : { 'content-type': contentType },
    // Bytes, not a string: fetch would label a string text/plain.
    body: new TextEncoder().encode(body),
  });
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text() };
}

const postJson = (body: unknown) => post(JSON.stringify(body), 'application/json');

async function get(path: string): Promise<Reply> {
  const res = await fetch(`${h.url}${path}`);
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text() };
}

/** Sends a request that must be refused with `status`, and checks that it changed nothing. */
async function refused(send: () => Promise<Reply>, status?: number): Promise<Problem> {
  const before = await footprint();
  const reply = await send();
  const problem = expectProblem(reply, status) as Problem;
  expect(await footprint()).toEqual(before);
  return problem;
}

const paths = (problem: Problem) => (problem.errors ?? []).map((e) => e.path);

/** A valid job that finishes at once. */
const quick = { type: 'simulate', data: { steps: 1, stepMs: 0 } };

/** The quick job as JSON padded with whitespace to `bytes` bytes: valid, only its size varies. */
function padded(bytes: number): string {
  const json = JSON.stringify(quick);
  return `${json.slice(0, -1)}${' '.repeat(Math.max(0, bytes - json.length))}}`;
}

/** Sends a chunked body (no content-length) over a raw HTTP/1.1 request. */
function postChunked(chunks: string[], contentType = 'application/json'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(h.url);
    const req = request({
      host: hostname,
      port,
      method: 'POST',
      path: '/jobs',
      agent: false,
      headers: { 'content-type': contentType, 'transfer-encoding': 'chunked' },
    });
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), text }),
      );
    });
    // The server may answer 413 and hang up before the rest is sent: only an error with no
    // answer is a failure.
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

describe('a body that is not JSON', () => {
  it.each([
    ['truncated', '{"type":"simulate",'],
    ['unquoted keys', '{type: simulate}'],
    ['trailing garbage', '{"type":"simulate"}}'],
    ['empty', ''],
    ['single quotes', "{'type':'simulate'}"],
  ])('%s → 400 malformed JSON', async (_name, body) => {
    await refused(() => post(body, 'application/json'), 400);
  });
});

describe('a body that is not sent as JSON', () => {
  it.each([
    ['text/plain', 'text/plain'],
    ['text/plain with charset', 'text/plain; charset=utf-8'],
    ['a form', 'application/x-www-form-urlencoded'],
    ['multipart', 'multipart/form-data; boundary=x'],
    ['a look-alike', 'application/jsonx'],
  ])('%s → 415, even when the body is valid JSON', async (_name, contentType) => {
    await refused(() => post(JSON.stringify(quick), contentType), 415);
  });

  it('a urlencoded form body → 415', async () => {
    await refused(() => post('type=simulate&data=x', 'application/x-www-form-urlencoded'), 415);
  });

  it('no content type at all → 415', async () => {
    await refused(() => post(JSON.stringify(quick)), 415);
  });
});

describe('a body over MAX_BODY_BYTES', () => {
  it('with a content-length → 413', async () => {
    const body = padded(MAX_BODY_BYTES + 1);
    expect(Buffer.byteLength(body)).toBe(MAX_BODY_BYTES + 1);
    await refused(() => post(body, 'application/json'), 413);
  });

  it('sent chunked, without a content-length → 413', async () => {
    const body = padded(MAX_BODY_BYTES * 3);
    const chunks = body.match(/[\s\S]{1,500}/g) ?? [];
    await refused(() => postChunked(chunks), 413);
  });

  it('far over the limit, chunked → 413', async () => {
    const chunks = Array.from({ length: 64 }, () => ' '.repeat(16 * 1024));
    await refused(() => postChunked(['{"type":"simulate"', ...chunks, '}']), 413);
  });

  it('exactly at the limit is accepted (the limit is inclusive), sent either way', async () => {
    const body = padded(MAX_BODY_BYTES);
    expect(Buffer.byteLength(body)).toBe(MAX_BODY_BYTES);
    const plain = await post(body, 'application/json');
    expect(plain.status, plain.text).toBe(202);
    const chunked = await postChunked(body.match(/[\s\S]{1,500}/g) ?? []);
    expect(chunked.status, chunked.text).toBe(202);
    for (const reply of [plain, chunked]) {
      const { id } = JSON.parse(reply.text) as { id: string };
      const events = await watch(`${h.url}/jobs/${id}/events`, { timeoutMs: 10_000 });
      expect(events.at(-1)?.data).toMatchObject({ status: 'completed' });
    }
  });
});

describe('an unknown job type', () => {
  it('→ 422 naming the known types', async () => {
    const problem = await refused(() => postJson({ type: 'no-such-type', data: {} }), 422);
    expect(problem.detail).toContain('no-such-type');
    expect(problem.detail).toContain('simulate');
  });

  it.each([
    ['missing', { data: { steps: 1 } }, 'type'],
    ['empty', { type: '' }, 'type'],
    ['not a string', { type: 5 }, 'type'],
    ['an inherited property name', { type: 'constructor' }, undefined],
    ['__proto__', { type: '__proto__' }, undefined],
  ])('%s → 422', async (_name, body, path) => {
    const problem = await refused(() => postJson(body), 422);
    if (path) expect(paths(problem)).toContain(path);
  });
});

describe('invalid job data', () => {
  it.each([
    ['steps 0', { steps: 0, stepMs: 0 }, 'data.steps'],
    ['steps 10001', { steps: 10_001, stepMs: 0 }, 'data.steps'],
    ['steps not an integer', { steps: 1.5, stepMs: 0 }, 'data.steps'],
    ['steps "ten"', { steps: 'ten', stepMs: 0 }, 'data.steps'],
    ['steps null', { steps: null, stepMs: 0 }, 'data.steps'],
    ['stepMs -1', { steps: 1, stepMs: -1 }, 'data.stepMs'],
    ['stepMs 60001', { steps: 1, stepMs: 60_001 }, 'data.stepMs'],
    ['failAtStep 0', { steps: 1, stepMs: 0, failAtStep: 0 }, 'data.failAtStep'],
  ])('%s → 422 with the field path', async (_name, data, path) => {
    const problem = await refused(() => postJson({ type: 'simulate', data }), 422);
    expect(problem.errors, problem.detail).toEqual(expect.arrayContaining([{ path, message: expect.any(String) }]));
    expect(problem.detail).toContain(path);
  });

  it('an unknown field → 422 naming it', async () => {
    const problem = await refused(() => postJson({ type: 'simulate', data: { steps: 1, stepMs: 0, bogus: 1 } }), 422);
    const error = (problem.errors ?? []).find((e) => e.path === 'data.bogus' || e.path === 'data');
    expect(error, JSON.stringify(problem)).toBeDefined();
    expect(`${error?.path} ${error?.message}`).toContain('bogus');
  });

  it('every bad field at once → one 422 listing them all', async () => {
    const problem = await refused(() => postJson({ type: 'simulate', data: { steps: 0, stepMs: -1 } }), 422);
    expect(paths(problem)).toEqual(expect.arrayContaining(['data.steps', 'data.stepMs']));
  });

  it.each([
    ['an array', [1, 2]],
    ['a string', 'steps=1'],
    ['a number', 3],
    ['true', true],
  ])('data that is %s → 422', async (_name, data) => {
    const problem = await refused(() => postJson({ type: 'simulate', data }), 422);
    expect(paths(problem).some((p) => p.startsWith('data'))).toBe(true);
  });
});

describe('a body that is not an object', () => {
  it.each([
    ['an array', '[]'],
    ['an array of a job', JSON.stringify([quick])],
    ['a number', '42'],
    ['null', 'null'],
    ['a string', '"simulate"'],
    ['false', 'false'],
  ])('%s → 4xx problem', async (_name, body) => {
    const problem = await refused(() => post(body, 'application/json'));
    expect([400, 422]).toContain(problem.status);
  });
});

describe('the envelope', () => {
  it('an unknown top-level field → 422 naming it', async () => {
    const problem = await refused(() => postJson({ ...quick, priority: 1 }), 422);
    expect(JSON.stringify(problem.errors)).toContain('priority');
  });

  it.each([
    ['attempts 0', { attempts: 0 }, 'options.attempts'],
    ['attempts 21', { attempts: 21 }, 'options.attempts'],
    ['attempts "3"', { attempts: '3' }, 'options.attempts'],
    ['delayMs -1', { delayMs: -1 }, 'options.delayMs'],
    ['priority -1', { priority: -1 }, 'options.priority'],
  ])('options with %s → 422 with the field path', async (_name, options, path) => {
    const problem = await refused(() => postJson({ ...quick, options }), 422);
    expect(paths(problem)).toContain(path);
  });

  it('a number past two bounds of one field → its tighter bound, once', async () => {
    // z.int() checks the safe-integer range itself, beside the field's own maximum.
    const problem = await refused(() => postJson({ ...quick, options: { delayMs: 1e20 } }), 422);
    expect(problem.errors).toEqual([{ path: 'options.delayMs', message: expect.stringContaining('604800000') }]);
    const small = await refused(() => postJson({ ...quick, options: { delayMs: -1e20 } }), 422);
    expect(small.errors).toEqual([{ path: 'options.delayMs', message: expect.stringContaining('>=0') }]);
  });

  it('options with an unknown field → 422', async () => {
    const problem = await refused(() => postJson({ ...quick, options: { retries: 3 } }), 422);
    expect(JSON.stringify(problem.errors)).toContain('retries');
  });

  it('options that are not an object → 422', async () => {
    await refused(() => postJson({ ...quick, options: [] }), 422);
  });
});

describe('reads of things that do not exist', () => {
  it.each([
    '/jobs/not-a-uuid',
    '/jobs/1',
    '/jobs/4b0c5a4e-8a8e-4a53-9d6e-8a3c2b1d0e9',
    `/jobs/${'a'.repeat(2_000)}`,
    '/jobs/%00',
    '/jobs/..%2F..%2Fetc%2Fpasswd',
  ])('GET %s → 404 problem', async (path) => {
    const problem = await refused(() => get(path), 404);
    // What the client sent is named, cut to a sane length (not echoed whole: a 2,000-character id).
    expect(String(problem.detail).length).toBeLessThanOrEqual(300);
  });

  it.each(['/nope', '/jobs/x/y/z', '/JOBS'])('unknown route GET %s → 404 problem', async (path) => {
    await refused(() => get(path), 404);
  });

  it('unknown route POST /nope → 404 problem', async () => {
    await refused(() => post(JSON.stringify(quick), 'application/json', '/nope'), 404);
  });

  it('a method the route does not have (PUT /jobs) → 404 or 405 problem', async () => {
    const problem = await refused(async () => {
      const res = await fetch(`${h.url}/jobs`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(quick),
      });
      return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text() };
    });
    expect([404, 405]).toContain(problem.status);
  });
});

describe('defaults', () => {
  it('are filled in: no data at all, and data with only stepMs, both run to steps 10', async () => {
    const bare = await postJson({ type: 'simulate' });
    const fast = await postJson({ type: 'simulate', data: { stepMs: 0 } });
    for (const reply of [bare, fast]) {
      expect(reply.status, reply.text).toBe(202);
      expect(reply.contentType).toMatch(/^application\/json/);
      expect(JSON.parse(reply.text)).toMatchObject({
        type: 'simulate',
        state: 'queued',
        progress: 0,
        attempts: 0,
        maxAttempts: 1,
      });
    }
    // Both run at once; the bare one takes 10 × the default 200 ms.
    const [bareEvents, fastEvents] = await Promise.all(
      [bare, fast].map((reply) => {
        const { id } = JSON.parse(reply.text) as { id: string };
        return watch(`${h.url}/jobs/${id}/events`, { timeoutMs: 15_000 });
      }),
    );
    for (const events of [bareEvents, fastEvents]) {
      expect(events?.at(-1)).toMatchObject({ type: 'done', data: { status: 'completed', result: { steps: 10 } } });
    }
  });

  it('application/json with parameters and in any case is JSON', async () => {
    for (const contentType of [
      'application/json; charset=utf-8',
      'Application/JSON',
      'application/json;charset=UTF-8',
    ]) {
      const reply = await post(JSON.stringify(quick), contentType);
      expect(reply.status, `${contentType}: ${reply.text}`).toBe(202);
      const { id } = JSON.parse(reply.text) as { id: string };
      await watch(`${h.url}/jobs/${id}/events`, { timeoutMs: 10_000 });
    }
  });
});

describe('any input (property)', () => {
  // Mostly JSON, so the bodies get past the content-type check and reach the validators.
  const contentTypes = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom('application/json', 'application/json; charset=utf-8') },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        undefined,
        'application/problem+json',
        'application/merge-patch+json',
        'text/plain',
        'text/json',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        '',
      ),
    },
    // Any printable header value.
    { weight: 1, arbitrary: fc.stringMatching(/^[\x21-\x7e][\x20-\x7e]{0,40}$/) },
  );

  // Jobs that may pass validation are kept instant: stepMs, when valid, is always 0 and given,
  // and steps stay small, so nothing accepted here outlives the test.
  const nearlyValid = fc.record(
    {
      type: fc.oneof(fc.constant('simulate'), fc.string({ maxLength: 20 }), fc.jsonValue({ maxDepth: 1 })),
      data: fc.oneof(
        fc.record(
          {
            steps: fc.constantFrom(1, 2, 0, -1, 10_001, 1.5, 'ten', null, 1e300),
            stepMs: fc.constantFrom(0, -1, 60_001, 0.5, '0', null),
            failAtStep: fc.constantFrom(1, 0, 'x', 99),
            extra: fc.jsonValue({ maxDepth: 1 }),
          },
          { requiredKeys: ['stepMs'] },
        ),
        fc.oneof(fc.integer(), fc.string({ maxLength: 10 }), fc.array(fc.integer(), { maxLength: 3 }), fc.boolean()),
      ),
      options: fc.oneof(
        fc.record(
          {
            attempts: fc.constantFrom(1, 2, 0, 21, '1', -1),
            backoffMs: fc.constantFrom(0, -1, 'x'),
            delayMs: fc.constantFrom(0, -1, 'x', 1e20),
            priority: fc.oneof(fc.integer(), fc.constantFrom(0, 1, 2_097_153)),
            unknown: fc.jsonValue({ maxDepth: 1 }),
          },
          { requiredKeys: [] },
        ),
        fc.jsonValue({ maxDepth: 1 }),
      ),
      extra: fc.jsonValue({ maxDepth: 1 }),
    },
    { requiredKeys: ['type', 'data'] },
  );

  const bodies = fc.oneof(
    nearlyValid.map((value) => JSON.stringify(value)),
    fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)),
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.string({ unit: 'grapheme-ascii', maxLength: 200 }),
    // Around the size limit.
    fc.integer({ min: MAX_BODY_BYTES - 100, max: MAX_BODY_BYTES + 100 }).map(padded),
    fc.string({ maxLength: 5_000 }).map((s) => JSON.stringify({ ...quick, data: { ...quick.data, note: s } })),
  );

  it('POST /jobs answers 202 or a 4xx problem that changed nothing, never a 5xx', async () => {
    const accepted: string[] = [];
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(bodies, contentTypes, async (body, contentType) => {
        const before = await footprint();
        const reply = await post(body, contentType);
        seen.set(reply.status, (seen.get(reply.status) ?? 0) + 1);
        expect(reply.status, reply.text).toBeLessThan(500);
        if (reply.status === 202) {
          const job = JSON.parse(reply.text) as { id: string; state: string };
          expect(job.state).toBe('queued');
          accepted.push(job.id);
          return;
        }
        expectProblem(reply);
        expect(await footprint()).toEqual(before);
      }),
      { numRuns: 150 },
    );
    console.log(`[validation] property statuses: ${JSON.stringify(Object.fromEntries([...seen].sort()))}`);

    // Let every accepted job finish before the harness closes.
    await waitFor(
      async () => {
        const states = await Promise.all(
          accepted.map(async (id) => ((await (await fetch(`${h.url}/jobs/${id}`)).json()) as { state: string }).state),
        );
        return states.every((s) => s === 'completed' || s === 'failed' || s === 'cancelled');
      },
      `${accepted.length} accepted jobs to finish`,
      15_000,
    );
  }, 60_000);
});
