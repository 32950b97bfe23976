/**
 * API keys and ownership: with keys configured, every job and event endpoint wants
 * `Authorization: Bearer <key>` and answers anything else with a 401 problem; a job belongs
 * to the key that created it, and any other key is told it does not exist. Without keys the
 * service runs open and says so loudly at start; keys never reach the log.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness, waitFor } from './support/harness/harness.js';
import { UNKNOWN_ID } from './support/http/api.js';
import {
  bearer,
  KEY_A,
  KEY_B,
  KEYED_ENV,
  type Reply,
  send,
  startKeyedHarness,
  submitAs,
  TOKEN_SECRET,
  tokenOf,
  withoutId,
} from './support/http/security.js';
import { startApiProcess } from './support/processes/api-process.js';

/** A keyed service. */
let h: Harness;
/** A finished job of A's. */
let doneJob: string;

beforeAll(async () => {
  h = await startKeyedHarness();
  doneJob = (await submitAs(h.url, KEY_A, { steps: 1, stepMs: 0 })).id;
  await waitFor(
    async () => (await send(h.url, 'GET', `/jobs/${doneJob}`, { headers: bearer(KEY_A) })).json?.state === 'completed',
    'job done',
  );
});
afterAll(async () => {
  await h?.close();
});

function expect401(res: Reply, what: string): void {
  expect(res.status, `${what}: ${res.text}`).toBe(401);
  expect(res.headers.get('content-type'), what).toBe('application/problem+json');
  expect(res.headers.get('www-authenticate'), what).toMatch(/^Bearer\b/);
  expect(res.json, what).toMatchObject({
    status: 401,
    type: expect.stringMatching(/^\/problems\//),
    title: expect.any(String),
  });
  expect(typeof res.json?.detail, what).toBe('string');
}

/** Every job and event endpoint, as [method, path, body]. */
const endpoints = (id: string): [string, string, unknown][] => [
  ['POST', '/jobs', { type: 'simulate', data: { steps: 1, stepMs: 0 } }],
  ['GET', '/jobs', undefined],
  ['GET', `/jobs/${id}`, undefined],
  ['GET', `/jobs/${id}/logs`, undefined],
  ['POST', `/jobs/${id}/cancel`, undefined],
  ['GET', `/events?jobs=${id}`, undefined],
  ['GET', `/jobs/${id}/events`, undefined],
  ['POST', '/events/tokens', { jobs: [id] }],
];

describe('with API_KEYS set', () => {
  it('answers every job and event endpoint without Authorization with a 401 problem and WWW-Authenticate', async () => {
    for (const [method, path, body] of endpoints(doneJob)) {
      expect401(await send(h.url, method, path, { body }), `${method} ${path}`);
    }
  });

  it('refuses a wrong key and malformed Authorization headers', async () => {
    const bad = [
      'Bearer key-c-not-a-real-key',
      `Bearer ${KEY_A}x`,
      `Bearer ${KEY_A.slice(0, -1)}`,
      'Basic x',
      'Bearer',
      'Bearer ',
      KEY_A,
      `Basic ${KEY_A}`,
      `Bearer ${KEY_A} ${KEY_B}`,
      '',
    ];
    for (const authorization of bad) {
      for (const [method, path, body] of endpoints(doneJob)) {
        expect401(
          await send(h.url, method, path, { body, headers: { authorization } }),
          `${authorization} ${method} ${path}`,
        );
      }
    }
  });

  it('lets the right key through on every endpoint', async () => {
    const long = await submitAs(h.url, KEY_A, { steps: 100, stepMs: 500 });
    const expected: Record<string, number> = {
      'POST /jobs': 202,
      'GET /jobs': 200,
      [`GET /jobs/${long.id}`]: 200,
      [`GET /jobs/${long.id}/logs`]: 200,
      [`POST /jobs/${long.id}/cancel`]: 202,
      [`GET /events?jobs=${long.id}`]: 200,
      [`GET /jobs/${long.id}/events`]: 200,
      'POST /events/tokens': 201,
    };
    for (const [method, path, body] of endpoints(long.id)) {
      const res = await send(h.url, method, path, { body, headers: bearer(KEY_A), timeoutMs: 3_000 });
      expect(res.status, `${method} ${path}: ${res.text.slice(0, 300)}`).toBe(expected[`${method} ${path}`]);
    }
    // The scheme is case-insensitive (RFC 9110 §11.1).
    expect((await send(h.url, 'GET', '/jobs', { headers: { authorization: `bearer ${KEY_B}` } })).status).toBe(200);
  });

  it('is not fooled by a path that merely ends in /events', async () => {
    // Regression: `/jobs/*` used to skip the REST check for any path ending in /events, leaving
    // it to the stream check, which only guards /jobs/{id}/events — so /jobs/events reached
    // GET /jobs/{id} with no principal at all, and failed with a 500.
    const answers: string[] = [];
    for (const method of ['GET', 'HEAD', 'POST']) {
      for (const path of ['/jobs/events', '/jobs/%65vents']) {
        const res = await send(h.url, method, path);
        answers.push(`${method} ${path} → ${res.status}`);
      }
    }
    // Refused for want of a key (or simply not found): never a 5xx.
    expect(answers.filter((answer) => !/→ 40[14]$/.test(answer))).toEqual([]);
  });
});

describe('ownership', () => {
  let a: string;
  beforeAll(async () => {
    a = (await submitAs(h.url, KEY_A, { steps: 100, stepMs: 500 })).id;
  });

  it("answers another key's requests for a job exactly like an unknown job's, apart from the id", async () => {
    const asB = { headers: bearer(KEY_B) };
    for (const [method, suffix] of [
      ['GET', ''],
      ['GET', '/events'],
      ['GET', '/logs'],
      ['POST', '/cancel'],
    ] as const) {
      const theirs = await send(h.url, method, `/jobs/${a}${suffix}`, asB);
      const unknown = await send(h.url, method, `/jobs/${UNKNOWN_ID}${suffix}`, asB);
      expect(theirs.status, `${method} ${suffix}: ${theirs.text}`).toBe(404);
      expect(theirs.headers.get('content-type')).toBe('application/problem+json');
      expect(withoutId(theirs.json, a), `${method} ${suffix}`).toEqual(withoutId(unknown.json, UNKNOWN_ID));
      expect(theirs.json).toMatchObject({ type: '/problems/job-not-found' });
    }
    // The multiplexed stream and stream tokens say the same.
    const multi = await send(h.url, 'GET', `/events?jobs=${a}`, asB);
    const multiUnknown = await send(h.url, 'GET', `/events?jobs=${UNKNOWN_ID}`, asB);
    expect(multi.status).toBe(404);
    expect(withoutId(multi.json, a)).toEqual(withoutId(multiUnknown.json, UNKNOWN_ID));
    const token = await send(h.url, 'POST', '/events/tokens', { ...asB, body: { jobs: [a] } });
    const tokenUnknown = await send(h.url, 'POST', '/events/tokens', { ...asB, body: { jobs: [UNKNOWN_ID] } });
    expect(token.status).toBe(404);
    expect(withoutId(token.json, a)).toEqual(withoutId(tokenUnknown.json, UNKNOWN_ID));
    // B's cancel changed nothing.
    const still = await send(h.url, 'GET', `/jobs/${a}`, { headers: bearer(KEY_A) });
    expect(still.json?.state).not.toBe('cancelled');
  });

  it("a batch's jobs are its key's: 404 for another key, and its events link opens with its token alone", async () => {
    const job = { type: 'simulate', data: { steps: 2, stepMs: 50 } };
    const res = await send(h.url, 'POST', '/jobs/batch', { headers: bearer(KEY_A), body: { jobs: [job, job, job] } });
    expect(res.status, res.text).toBe(202);
    const { items, links } = res.json as { items: { id: string }[]; links: { events: string } };
    const ids = items.map((item) => item.id);
    expect(ids).toHaveLength(3);
    for (const id of ids) {
      const theirs = await send(h.url, 'GET', `/jobs/${id}`, { headers: bearer(KEY_B) });
      const unknown = await send(h.url, 'GET', `/jobs/${UNKNOWN_ID}`, { headers: bearer(KEY_B) });
      expect(theirs.status, theirs.text).toBe(404);
      expect(withoutId(theirs.json, id)).toEqual(withoutId(unknown.json, UNKNOWN_ID));
      expect((await send(h.url, 'GET', `/jobs/${id}`, { headers: bearer(KEY_A) })).status).toBe(200);
    }
    expect((await send(h.url, 'GET', `/events?jobs=${ids.join(',')}`, { headers: bearer(KEY_B) })).status).toBe(404);
    // The link names the jobs and carries a token: no key needed to open it.
    expect(links.events).toMatch(new RegExp(`^/events\\?jobs=${ids.join(',')}&summary=true&token=`));
    expect(tokenOf(links.events)).not.toBe('');
    const stream = await send(h.url, 'GET', links.events, { timeoutMs: 3_000 });
    expect(stream.status, stream.text.slice(0, 300)).toBe(200);
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    // Without its token, the same stream wants a key.
    expect401(await send(h.url, 'GET', `/events?jobs=${ids.join(',')}`), 'batch stream without token');
  });

  it('lists a job for its owner only', async () => {
    const listB = await send(h.url, 'GET', '/jobs?limit=100', { headers: bearer(KEY_B) });
    expect(listB.status).toBe(200);
    expect(listB.text).not.toContain(a);
    expect(listB.text).not.toContain(doneJob);
    const listA = await send(h.url, 'GET', '/jobs?limit=100', { headers: bearer(KEY_A) });
    const ids = ((listA.json?.items ?? []) as { id: string }[]).map((job) => job.id);
    expect(ids).toEqual(expect.arrayContaining([a, doneJob]));
    const own = await send(h.url, 'GET', `/jobs/${a}`, { headers: bearer(KEY_A) });
    expect(own.status).toBe(200);
    expect(own.json?.id).toBe(a);
    await send(h.url, 'POST', `/jobs/${a}/cancel`, { headers: bearer(KEY_A) });
  });
});

describe('API_KEYS_FILE', () => {
  it('reads keys one per line, skipping comments (on their own line or after a key) and blank lines, and enforces them like API_KEYS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jobcast-keys-'));
    const file = join(dir, 'keys');
    writeFileSync(
      file,
      '# keys for the test\n  key-file-1111aaaa  \n\n# key-file-commented-out\nkey-file-2222bbbb\r\nkey-file-5555eeee # the ops team\n',
    );
    let f: Harness | undefined;
    try {
      f = await startHarness({ env: { API_KEYS_FILE: file, STREAM_TOKEN_SECRET: TOKEN_SECRET }, worker: false });
      expect401(await send(f.url, 'GET', '/jobs'), 'no key');
      for (const wrong of ['key-file-commented-out', '#', 'key-file-1111aaaa  x', KEY_A]) {
        expect401(await send(f.url, 'GET', '/jobs', { headers: bearer(wrong) }), wrong);
      }
      const job = await submitAs(f.url, 'key-file-1111aaaa');
      expect((await send(f.url, 'GET', `/jobs/${job.id}`, { headers: bearer('key-file-1111aaaa') })).status).toBe(200);
      expect((await send(f.url, 'GET', `/jobs/${job.id}`, { headers: bearer('key-file-2222bbbb') })).status).toBe(404);
      // A comment after a key and a space is a comment, not part of the key.
      expect((await send(f.url, 'GET', '/jobs', { headers: bearer('key-file-5555eeee') })).status).toBe(200);
      expect401(
        await send(f.url, 'GET', '/jobs', { headers: bearer('key-file-5555eeee # the ops team') }),
        'with its comment',
      );
      expect401(await send(f.url, 'GET', `/jobs/${job.id}/events`), 'events without key');
      expect(job.links.events).toMatch(/\?token=/);
    } finally {
      await f?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('what the API process logs', () => {
  it('never a key, a token or the token secret — in a whole keyed run at debug level, 401s included', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jobcast-keys-'));
    const file = join(dir, 'keys');
    writeFileSync(file, '# one more key\nkey-file-3333cccc\n');
    const wrong = 'key-z-presented-but-wrong';
    const api = await startApiProcess({
      ...KEYED_ENV,
      API_KEYS_FILE: file,
      LOG_LEVEL: 'debug',
    });
    let issued: string[] = [];
    try {
      const url = api.url;
      for (const authorization of [`Bearer ${wrong}`, 'Basic x', 'Bearer', `Bearer ${KEY_A}x`]) {
        expect((await send(url, 'GET', '/jobs', { headers: { authorization } })).status).toBe(401);
      }
      expect((await send(url, 'GET', '/jobs')).status).toBe(401);
      const job = await submitAs(url, KEY_A, { steps: 1, stepMs: 0 });
      const fromFile = await submitAs(url, 'key-file-3333cccc', { steps: 1, stepMs: 0 });
      expect((await send(url, 'GET', `/jobs/${job.id}`, { headers: bearer(KEY_B) })).status).toBe(404);
      expect((await send(url, 'POST', '/jobs', { headers: bearer(KEY_B), body: '{not json' })).status).toBe(400);
      const tokens = await send(url, 'POST', '/events/tokens', { headers: bearer(KEY_A), body: { jobs: [job.id] } });
      expect(tokens.status).toBe(201);
      issued = [tokenOf(job.links.events), tokenOf(fromFile.links.events), tokens.json?.token as string];
      // A bad token, a token used as a key, a key used as a token.
      expect((await send(url, 'GET', `/jobs/${job.id}/events?token=${KEY_A}`)).status).toBe(401);
      expect((await send(url, 'GET', `/jobs/${job.id}`, { headers: bearer(issued[0] as string) })).status).toBe(401);
      // The job is queued (no worker): the stream stays open until the client goes away.
      const stream = await send(url, 'GET', job.links.events, { timeoutMs: 500 });
      expect(stream.status).toBe(200);
    } finally {
      await api.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    const logged = api.output();
    expect(logged).toContain('API keys required');
    expect(logged).not.toContain('NO API KEYS');
    for (const secret of [KEY_A, KEY_B, 'key-file-3333cccc', wrong, TOKEN_SECRET, ...issued]) {
      expect(logged.includes(secret), `${secret.slice(0, 12)}… appears in the log:\n${logged}`).toBe(false);
    }
  });

  it('without keys: runs open and warns loudly at start', async () => {
    const api = await startApiProcess({ LOG_LEVEL: 'warn' });
    try {
      const warning = api
        .output()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { level: string; msg: string })
        .find((line) => /NO API KEYS/.test(line.msg));
      expect(warning, api.output()).toBeDefined();
      expect(warning?.level).toBe('warn');
      expect(warning?.msg).toMatch(/API_KEYS/);
      // Open: no key needed, and job links carry no token.
      const job = await submitAs(api.url, 'ignored');
      expect(job.links.events).toBe(`/jobs/${job.id}/events`);
      expect((await send(api.url, 'GET', `/jobs/${job.id}`)).status).toBe(200);
      // But nothing is listed: an id is the only way to a job.
      expect((await send(api.url, 'GET', '/jobs')).json).toMatchObject({
        status: 403,
        type: '/problems/listing-needs-key',
      });
    } finally {
      await api.stop();
    }
  });
});
