/**
 * Stream tokens: what lets a browser's EventSource (which cannot send headers) watch a job
 * when API keys are on. A token is signed, short-lived, scoped to the jobs it names, works on
 * event streams only, and an expired one tells the client how to recover — fetch a fresh link
 * with the key and resume from the last event id, missing and repeating nothing.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeClaims, encodeClaims } from '../src/auth/stream-tokens.js';
import { type Harness, waitFor } from './support/harness/harness.js';
import { expectProblem } from './support/http/api.js';
import {
  bearer,
  flipSignature,
  KEY_A,
  KEY_B,
  send,
  startKeyedHarness,
  submitAs,
  TOKEN_SECRET,
  tokenAs,
  tokenOf,
} from './support/http/security.js';
import { openStream } from './support/sse/raw-sse.js';
import { type ReceivedEvent, watch } from './support/sse/sse.js';

const TTL_SECONDS = 900;

let h: Harness;
beforeAll(async () => {
  h = await startKeyedHarness({ STREAM_TOKEN_TTL_SECONDS: String(TTL_SECONDS) });
});
afterAll(async () => {
  await h?.close();
});

/** An events link with `token` in place of the one it carries. */
const withToken = (link: string, token: string) => `${link.split('?')[0]}?token=${encodeURIComponent(token)}`;

describe("a job's events link", () => {
  it('carries a token that streams the job to done with no header at all (real EventSource)', async () => {
    const job = await submitAs(h.url, KEY_A, { steps: 3, stepMs: 30 });
    expect(job.links.events).toMatch(new RegExp(`^/jobs/${job.id}/events\\?token=[\\w%.-]+$`));
    expect(job.links.self).toBe(`/jobs/${job.id}`);
    const events = await watch(`${h.url}${job.links.events}`);
    expect(events.at(-1)).toMatchObject({
      type: 'done',
      data: { jobId: job.id, status: 'completed', result: { steps: 3 } },
    });
    // The token says when it ends: about TTL from now.
    const claims = decodeClaims(tokenOf(job.links.events).split('.')[0] as string);
    expect(claims?.jobs).toEqual([job.id]);
    const expiresInMs = (claims?.expiresAt ?? 0) * 1000 - Date.now();
    expect(expiresInMs).toBeGreaterThan((TTL_SECONDS - 60) * 1000);
    expect(expiresInMs).toBeLessThanOrEqual(TTL_SECONDS * 1000);
  });

  it("does not open another job's stream: 403", async () => {
    const [one, two] = await Promise.all([submitAs(h.url, KEY_A), submitAs(h.url, KEY_A)]);
    const res = await send(h.url, 'GET', withToken(two.links.events, tokenOf(one.links.events)));
    expectProblem(res, 403, 'token-scope');
    // Nor a multiplexed stream that adds a job it does not name.
    const multi = await send(
      h.url,
      'GET',
      `/events?jobs=${one.id},${two.id}&token=${encodeURIComponent(tokenOf(one.links.events))}`,
    );
    expectProblem(multi, 403, 'token-scope');
  });

  it('refuses a forged token with 401: a flipped signature, another secret, a changed payload', async () => {
    const job = await submitAs(h.url, KEY_A);
    const real = tokenOf(job.links.events);
    const [payload, signature] = real.split('.') as [string, string];
    const claims = decodeClaims(payload);
    if (!claims) throw new Error('the token does not decode');
    // Its own payload with a later expiry, or with one job more, under the real signature.
    const longer = encodeClaims({ ...claims, expiresAt: claims.expiresAt + 86_400 });
    const wider = encodeClaims({ ...claims, jobs: [...claims.jobs, crypto.randomUUID()] });
    const forged = [
      flipSignature(real),
      tokenAs(KEY_A, [job.id], { secret: 'another-secret-of-at-least-32-characters!!' }),
      `${longer}.${signature}`,
      `${wider}.${signature}`,
      `${payload}.`,
      `${payload}.${signature}.x`,
      payload,
      'garbage',
      '',
    ];
    for (const token of forged) {
      const res = await send(h.url, 'GET', `/jobs/${job.id}/events?token=${encodeURIComponent(token)}`);
      expect(res.status, `${token}: ${res.text}`).toBe(401);
      expect(res.json?.type, token).toMatch(/^\/problems\/(invalid-token|unauthorized)$/);
      expect(res.headers.get('www-authenticate'), token).toMatch(/^Bearer\b/);
    }
  });

  it('refuses an expired token with 401 token-expired, saying how to recover', async () => {
    const job = await submitAs(h.url, KEY_A);
    const expired = tokenAs(KEY_A, [job.id], { issuedAt: Date.now() - (TTL_SECONDS + 3600) * 1000 });
    const res = await send(h.url, 'GET', `/jobs/${job.id}/events?token=${encodeURIComponent(expired)}`);
    expectProblem(res, 401, 'token-expired');
    expect(res.json?.detail).toMatch(/GET \/jobs\/\{id\}/);
    expect(res.json?.detail).toMatch(/lastEventId|Last-Event-ID/);
    expect(res.headers.get('www-authenticate')).toMatch(/invalid_token/);
    const multi = await send(h.url, 'GET', `/events?jobs=${job.id}&token=${encodeURIComponent(expired)}`);
    expectProblem(multi, 401, 'token-expired');
  });

  it('is never accepted in place of the key on REST endpoints', async () => {
    const job = await submitAs(h.url, KEY_A);
    const token = encodeURIComponent(tokenOf(job.links.events));
    for (const [method, path] of [
      ['GET', `/jobs/${job.id}?token=${token}`],
      ['GET', `/jobs/${job.id}/logs?token=${token}`],
      ['POST', `/jobs/${job.id}/cancel?token=${token}`],
      ['GET', `/jobs?token=${token}`],
      ['POST', `/events/tokens?token=${token}`],
    ] as const) {
      const res = await send(h.url, method, path, path.startsWith('/events') ? { body: { jobs: [job.id] } } : {});
      expect(res.status, `${method} ${path}: ${res.text}`).toBe(401);
    }
    // Nor as a bearer credential.
    const asBearer = await send(h.url, 'GET', `/jobs/${job.id}`, { headers: bearer(tokenOf(job.links.events)) });
    expect(asBearer.status).toBe(401);
  });
});

describe('POST /events/tokens', () => {
  it("issues a token for the caller's jobs whose url streams all of them to done on one connection", async () => {
    const jobs = await Promise.all([1, 2, 3].map((n) => submitAs(h.url, KEY_A, { steps: n + 1, stepMs: 40 })));
    const ids = jobs.map((job) => job.id);
    const before = Date.now();
    const res = await send(h.url, 'POST', '/events/tokens', { headers: bearer(KEY_A), body: { jobs: ids } });
    expect(res.status, res.text).toBe(201);
    const { token, expiresAt, url } = res.json as { token: string; expiresAt: string; url: string };
    expect(typeof token).toBe('string');
    expect(Date.parse(expiresAt) - before).toBeGreaterThan((TTL_SECONDS - 60) * 1000);
    expect(url).toBe(`/events?jobs=${ids.join(',')}&token=${encodeURIComponent(token)}`);
    const done = new Set<string>();
    const events = await watch(`${h.url}${url}`, {
      until: (e) => {
        if (e.type === 'done') done.add(e.data.jobId as string);
        return done.size === ids.length;
      },
    });
    for (const id of ids) {
      const dones = events.filter((e) => e.type === 'done' && e.data.jobId === id);
      expect(dones, id).toHaveLength(1);
      expect(dones[0]?.data).toMatchObject({ status: 'completed' });
    }
    // The token covers exactly these jobs: each single-job stream too, nothing else.
    expect((await send(h.url, 'GET', `/jobs/${ids[0]}/events?token=${encodeURIComponent(token)}`)).status).toBe(200);
    const other = await submitAs(h.url, KEY_A);
    expect((await send(h.url, 'GET', `/jobs/${other.id}/events?token=${encodeURIComponent(token)}`)).status).toBe(403);
  });

  it('keeps the stream link of a 100-job batch under the 8 KB request line proxies allow by default', async () => {
    const res = await send(h.url, 'POST', '/jobs/batch', {
      headers: bearer(KEY_A),
      body: { jobs: Array.from({ length: 100 }, () => ({ type: 'simulate', data: { steps: 1, stepMs: 0 } })) },
    });
    expect(res.status, res.text).toBe(202);
    const { items, links } = res.json as { items: { id: string }[]; links: { events: string } };
    expect(`GET ${links.events} HTTP/1.1`.length).toBeLessThan(8 * 1024);
    const done = new Set<string>();
    await watch(`${h.url}${links.events}`, {
      until: (e) => {
        if (e.type === 'done') done.add(e.data.jobId as string);
        return done.size === items.length;
      },
    });
    expect(done.size).toBe(100);
  });

  it('still accepts a token in the earlier JSON format (issued by a replica not yet upgraded)', async () => {
    const job = await submitAs(h.url, KEY_A, { steps: 1, stepMs: 0 });
    const ours = decodeClaims(tokenOf(job.links.events).split('.')[0] as string);
    if (!ours) throw new Error('the token does not decode');
    const payload = Buffer.from(JSON.stringify({ o: ours.owner, j: ours.jobs, e: ours.expiresAt })).toString(
      'base64url',
    );
    const token = `${payload}.${createHmac('sha256', TOKEN_SECRET).update(payload).digest('base64url')}`;
    const events = await watch(`${h.url}/jobs/${job.id}/events?token=${encodeURIComponent(token)}`);
    expect(events.at(-1)?.type).toBe('done');
  });

  it("refuses a list with another key's job: 404, as if it did not exist", async () => {
    const mine = await submitAs(h.url, KEY_A);
    const theirs = await submitAs(h.url, KEY_B);
    const res = await send(h.url, 'POST', '/events/tokens', {
      headers: bearer(KEY_A),
      body: { jobs: [mine.id, theirs.id] },
    });
    expectProblem(res, 404, 'job-not-found');
    expect(res.text).toContain(theirs.id);
    expect(res.text).not.toContain('token"');
  });
});

describe('recovering from an expired token', () => {
  it('gets a clear 401, fetches a fresh link with the key, and resumes with lastEventId: nothing missed, nothing repeated', async () => {
    // Long enough to run on past the token's expiry: the fresh link resumes a live job.
    const job = await submitAs(h.url, KEY_A, { steps: 40, stepMs: 100 });
    // A token that is valid now and expires within about 2–3 s (expiry has one-second steps).
    const shortLived = tokenAs(KEY_A, [job.id], { issuedAt: Date.now() - (TTL_SECONDS - 3) * 1000 });
    const expiresAtMs = (decodeClaims(shortLived.split('.')[0] as string)?.expiresAt ?? 0) * 1000;
    const first = openStream(`${h.url}${withToken(job.links.events, shortLived)}`);
    let firstEvents: ReceivedEvent[] = [];
    try {
      expect((await first.response).statusCode).toBe(200);
      await first.next((e) => e.type === 'progress' && Number(e.data.progress) >= 5, 10_000);
    } finally {
      first.close();
      firstEvents = [...first.events];
    }
    const lastEventId = firstEvents.at(-1)?.id as string;
    expect(lastEventId).toMatch(/^\d+$/);

    await waitFor(() => Date.now() > expiresAtMs + 50, 'the token to expire', 5_000);
    // Reconnecting as EventSource would: same URL, Last-Event-ID header.
    const refused = await send(h.url, 'GET', withToken(job.links.events, shortLived), {
      headers: { 'last-event-id': lastEventId },
    });
    expectProblem(refused, 401, 'token-expired');

    // The documented recovery: GET the job with the key, open its fresh link from lastEventId.
    const fresh = await send(h.url, 'GET', `/jobs/${job.id}`, { headers: bearer(KEY_A) });
    expect(fresh.status).toBe(200);
    const link = (fresh.json?.links as { events: string } | undefined)?.events ?? '';
    expect(tokenOf(link)).not.toBe(shortLived);
    const rest = await watch(`${h.url}${link}&lastEventId=${lastEventId}`);
    expect(rest.at(-1)).toMatchObject({ type: 'done', data: { status: 'completed', result: { steps: 40 } } });

    const all = [...firstEvents, ...rest];
    const ids = all.map((e) => Number(e.id));
    expect(ids, JSON.stringify(ids)).toEqual([...new Set(ids)].sort((a, b) => a - b));
    expect(Number(rest[0]?.id)).toBeGreaterThan(Number(lastEventId));
    const progress = all.filter((e) => e.type === 'progress').map((e) => Number(e.data.progress));
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(progress.at(-1)).toBe(100);
    expect(all.filter((e) => e.type === 'done')).toHaveLength(1);
  });
});
