/**
 * The examples of openapi.yaml are true (src/openapi/examples.ts and the problem catalogue):
 * every request and response of the API has one; each is valid against its schema; each
 * keeps the rules no schema states (a queued job has progress 0 and no `startedAt`,
 * attempts ≤ maxAttempts, times plausible and ordered, stream ids growing, a problem's status
 * that of its type…); and a live jobcast, sent the example requests, answers the example
 * responses — equal once ids and times are set aside.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownerId } from '../src/auth/api-keys.js';
import { StreamTokens } from '../src/auth/stream-tokens.js';
import { builtInJobTypes } from '../src/jobs/builtin/index.js';
import { canonicalJson } from '../src/jobs/idempotency.js';
import { JobTypeRegistry } from '../src/jobs/registry.js';
import {
  batchAcceptedExamples,
  batchExamples,
  cancelledExamples,
  exampleIds,
  jobExamples,
  jobStreamExamples,
  logExamples,
  multiStreamExamples,
  submitExamples,
  submittedExamples,
} from '../src/openapi/examples.js';
import { openApiDocument } from '../src/openapi/index.js';
import { type ProblemType, problemTypes } from '../src/problems.js';
import { expectStreamItem, parseEventStream, schemaErrors } from './support/contract/contract.js';
import { type Harness, startHarness, waitFor } from './support/harness/harness.js';
import { call } from './support/http/api.js';

const jobTypes = JobTypeRegistry.builtIn();

type Json = Record<string, unknown>;

const doc = openApiDocument() as {
  paths: Record<string, Record<string, Json>>;
  components: Record<string, Record<string, Json>>;
};

interface Found {
  /** `POST /jobs request`, `GET /jobs/{id} 200 completed`… */
  where: string;
  path: string;
  method: string;
  /** 'request', or the response status. */
  status: string;
  mediaType: string;
  /** JSON pointer of the media type object. */
  pointer: string;
  name: string;
  value: unknown;
}

const escapePointer = (segment: string) => segment.replaceAll('~', '~0').replaceAll('/', '~1');

/** The node at a JSON pointer (`#/paths/~1jobs/post/…`) of the document. */
function at(pointer: string): Json | undefined {
  return pointer
    .slice(2)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce<Json | undefined>((node, key) => node?.[key] as Json | undefined, doc as unknown as Json);
}

function resolve(node: Json, pointer: string): { node: Json; pointer: string } {
  if (typeof node.$ref !== 'string') return { node, pointer };
  const [, kind, name] = /^#\/components\/(\w+)\/(.+)$/.exec(node.$ref) ?? [];
  return { node: doc.components[kind as string]?.[name as string] as Json, pointer: node.$ref };
}

/** Every media type of every request body and response, with its examples (maybe none). */
function mediaTypes(): (Omit<Found, 'name' | 'value'> & { examples?: Record<string, { value: unknown }> })[] {
  const found: (Omit<Found, 'name' | 'value'> & { examples?: Record<string, { value: unknown }> })[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const base = `#/paths/${escapePointer(path)}/${method}`;
      const bodies: [string, Json, string][] = [];
      if (op.requestBody) bodies.push(['request', op.requestBody as Json, `${base}/requestBody`]);
      for (const [status, response] of Object.entries(op.responses as Record<string, Json>)) {
        const { node, pointer } = resolve(response, `${base}/responses/${status}`);
        bodies.push([status, node, pointer]);
      }
      for (const [status, body, pointer] of bodies) {
        for (const [mediaType, media] of Object.entries((body.content ?? {}) as Record<string, Json>)) {
          found.push({
            where: `${method.toUpperCase()} ${path} ${status} ${mediaType}`,
            path,
            method,
            status,
            mediaType,
            pointer: `${pointer}/content/${escapePointer(mediaType)}`,
            examples: media.examples as Record<string, { value: unknown }> | undefined,
          });
        }
      }
    }
  }
  return found;
}

const allExamples: Found[] = mediaTypes().flatMap(({ examples, ...media }) =>
  Object.entries(examples ?? {}).map(([name, { value }]) => ({
    ...media,
    where: `${media.where} «${name}»`,
    name,
    value,
  })),
);

// ---- The rules no schema states ----

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** Plausible: this decade, and written as the API writes times (ISO 8601, milliseconds, UTC). */
function time(value: unknown, what: string): number {
  expect(value, what).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  const ms = Date.parse(value as string);
  expect(ms, `${what} ${value} is not a plausible time`).toBeGreaterThan(Date.parse('2024-01-01T00:00:00Z'));
  expect(ms, `${what} ${value} is not a plausible time`).toBeLessThan(Date.parse('2030-01-01T00:00:00Z'));
  return ms;
}

/** A job resource as the API could really answer it. */
function expectPlausibleJob(job: Json, where: string): void {
  const w = `${where}: job ${job.id}`;
  expect(job.id, w).toMatch(UUID_V4);
  expect(jobTypes.names, w).toContain(job.type);
  expect(job.links, w).toEqual({
    self: `/jobs/${job.id}`,
    events: `/jobs/${job.id}/events`,
    cancel: `/jobs/${job.id}/cancel`,
    logs: `/jobs/${job.id}/logs`,
  });
  const attempts = job.attempts as number;
  expect(attempts, `${w}: attempts ≤ maxAttempts`).toBeLessThanOrEqual(job.maxAttempts as number);
  const created = time(job.createdAt, `${w} createdAt`);
  const started = job.startedAt === undefined ? undefined : time(job.startedAt, `${w} startedAt`);
  const finished = job.finishedAt === undefined ? undefined : time(job.finishedAt, `${w} finishedAt`);
  if (started !== undefined) expect(started, `${w}: started after it was created`).toBeGreaterThanOrEqual(created);
  if (finished !== undefined) {
    expect(finished, `${w}: finished after it was created`).toBeGreaterThanOrEqual(started ?? created);
  }
  if (job.runAt !== undefined) {
    expect(job.state, `${w}: runAt is shown only while queued`).toBe('queued');
    expect(time(job.runAt, `${w} runAt`), `${w}: due after it was created`).toBeGreaterThan(created);
  }
  // What a job's progress tells beyond the percentage belongs to one state each.
  if (job.rate !== undefined || job.eta !== undefined) {
    expect(job.state, `${w}: a pace only while running`).toBe('active');
    expect(job.progress, `${w}: a pace once it made progress`).toBeGreaterThan(0);
    expect(time(job.eta, `${w} eta`), `${w}: eta after the start`).toBeGreaterThanOrEqual(started ?? created);
  }
  if (job.queuePosition !== undefined) expect(job.state, `${w}: a place in line only while queued`).toBe('queued');
  if (job.expectedStartAt !== undefined) {
    expect(job.state, w).toBe('queued');
    expect(time(job.expectedStartAt, `${w} expectedStartAt`), w).toBeGreaterThanOrEqual(created);
    if (job.runAt !== undefined) expect(job.expectedStartAt, `${w}: a delayed job starts when due`).toBe(job.runAt);
  }
  if (job.runAt !== undefined) expect(job.queuePosition, `${w}: no place while delayed`).toBeUndefined();
  expect(job.stalled !== undefined, `${w}: the stall signal is shown exactly while running`).toBe(
    job.state === 'active',
  );
  switch (job.state) {
    case 'queued':
      expect(job.progress, `${w}: a queued job has progress 0`).toBe(0);
      expect(job.finishedAt, w).toBeUndefined();
      expect(job.result ?? job.error, w).toBeUndefined();
      if (attempts === 0) expect(job.startedAt, `${w}: a job never started has no startedAt`).toBeUndefined();
      break;
    case 'active':
      expect(attempts, `${w}: a running job is on an attempt`).toBeGreaterThanOrEqual(1);
      expect(started, `${w}: a running job has started`).toBeDefined();
      expect(job.finishedAt ?? job.result ?? job.error, w).toBeUndefined();
      break;
    case 'completed': {
      expect(job.progress, w).toBe(100);
      expect(finished, w).toBeDefined();
      expect(started, w).toBeDefined();
      expect(job.error, w).toBeUndefined();
      const result = jobTypes.get(String(job.type))?.result?.safeParse(job.result);
      expect(result, `${w}: its type describes its result`).toBeDefined();
      expect(result?.success, `${w}: result ${JSON.stringify(job.result)} of its type`).toBe(true);
      break;
    }
    case 'failed':
      expect(job.error, w).toEqual(expect.any(String));
      expect(finished, w).toBeDefined();
      expect(attempts, `${w}: failed on its last attempt`).toBe(job.maxAttempts);
      expect(job.result, w).toBeUndefined();
      break;
    case 'cancelled':
      expect(job.error, w).toBe('cancelled by request');
      expect(finished, w).toBeDefined();
      break;
  }
  if (typeof job.message === 'string' && job.type === 'simulate') {
    // simulate reports `step n of m` at n/m of the way.
    const [, n, m] = /^step (\d+) of (\d+)$/.exec(job.message) ?? [];
    // Progress is kept to two decimals (workers/runner.ts).
    if (n && m && job.state !== 'queued')
      expect(job.progress, w).toBe(Math.round((Number(n) / Number(m)) * 10_000) / 100);
  }
}

/**
 * A stream as the server could write it: `retry:` first, ids growing (per job, or the feed's
 * entry ids), `done` last per job; a multi-job stream's `summary` adding up its jobs.
 */
function expectPlausibleStream(text: string, where: string): void {
  const items = parseEventStream(text);
  expect(items[0], `${where}: retry first`).toEqual({ retry: 2000 });
  const events = items.slice(1);
  expect(events.length, where).toBeGreaterThan(0);
  const feed = String(events[0]?.id).includes('-');
  const cursors = new Map<string, number>();
  const lastAt = new Map<string, number>();
  const finished = new Map<string, string>();
  let previous: number[] | undefined;
  for (const event of events) {
    const data = JSON.parse(event.data as string) as Json;
    const id = (event.id as string).split(feed ? '-' : '.').map(Number);
    const w = `${where}: event ${event.id} ${event.event}`;
    if (previous && feed) {
      const [ms = 0, n = 0] = id;
      const [pms = 0, pn = 0] = previous;
      expect(ms > pms || (ms === pms && n > pn), `${w}: feed ids grow`).toBe(true);
    } else if (previous && event.event !== 'summary') {
      expect(id.length, w).toBe(previous.length);
      // Each cursor only grows, and one of them grows with every event.
      expect(id.every((c, i) => c >= (previous?.[i] ?? 0)) && id.some((c, i) => c > (previous?.[i] ?? 0)), w).toBe(
        true,
      );
    }
    if (event.event === 'summary') {
      // The group as the events before it left it.
      const counts = { completed: 0, failed: 0, cancelled: 0 };
      for (const status of finished.values()) counts[status as keyof typeof counts]++;
      const total = cursors.size;
      const mean =
        [...cursors.entries()].reduce((sum, [job, p]) => sum + (finished.has(job) ? 100 : p), 0) / Math.max(1, total);
      expect(data, w).toMatchObject({ total, ...counts, progress: Math.round(mean * 100) / 100 });
      continue;
    }
    previous = id;
    const job = data.jobId as string;
    expect(finished.has(job), `${w}: nothing after a job's done`).toBe(false);
    const at = time(data.at, `${w} at`);
    expect(at, `${w}: at never goes back for one job`).toBeGreaterThanOrEqual(lastAt.get(job) ?? 0);
    lastAt.set(job, at);
    if (event.event === 'progress') {
      if (data.state === 'queued') expect(data.progress, w).toBe(0);
      if (data.state === 'completed') expect(data.progress, w).toBe(100);
      expect(data.stalled !== undefined, `${w}: the stall signal on running jobs (not on the feed)`).toBe(
        data.state === 'active' && !feed,
      );
      if (data.rate !== undefined) {
        expect(data.state, w).toBe('active');
        expect(time(data.eta, `${w} eta`), `${w}: eta not before the report`).toBeGreaterThanOrEqual(at);
      }
      expect(data.type !== undefined, `${w}: type and tags on the feed only`).toBe(feed);
      cursors.set(job, data.progress as number);
    }
    if (event.event === 'done') finished.set(job, data.status as string);
  }
  if (feed) return;
  expect(events.filter((e) => e.event !== 'summary').at(-1)?.event, `${where}: done last`).toBe('done');
  expect(
    [...cursors.keys()].every((job) => finished.has(job)),
    `${where}: every job's stream ends with done`,
  ).toBe(true);
}

function expectPlausibleProblem(problem: Json, status: string, name: string, where: string): void {
  expect(problem.type, where).toBe(`/problems/${name}`);
  const entry = problemTypes[name as ProblemType];
  expect(entry, `${where}: a type of the catalogue`).toBeDefined();
  expect(problem.status, where).toBe(entry.status);
  expect(String(problem.status), where).toBe(status);
  expect(problem.title, where).toBe(entry.title);
  expect(problem.detail, where).toEqual(expect.any(String));
  const documented = Object.keys(doc.paths).map((path) => new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`));
  // Refused before any route (api/client-errors): no path was read, so no `instance`.
  if (name === 'headers-too-large') expect(problem.instance, where).toBeUndefined();
  else {
    const instance = String(problem.instance);
    expect(
      documented.some((p) => p.test(instance)) || name === 'not-found',
      `${where}: instance ${instance} is a path of the API`,
    ).toBe(true);
  }
  if (Array.isArray(problem.errors)) {
    expect(problem.totalErrors, where).toBeGreaterThanOrEqual(problem.errors.length);
    for (const error of problem.errors as Json[]) expect(String(problem.detail), where).toContain(String(error.path));
  }
}

/**
 * Ids and times set aside, and what is measured rather than told (a rate; a place in line,
 * which depends on when the queue was looked at): what stays is what a live answer must equal.
 */
function normalize(value: unknown): unknown {
  const ids = new Map<string, string>();
  const text = JSON.stringify(value, (key, v: unknown) => {
    if (key === 'rate' && typeof v === 'number') return '<rate>';
    if (key === 'queuePosition' || key === 'expectedStartAt') return undefined;
    if (typeof v !== 'string') return v;
    return v
      .replace(/"rate":[\d.]+/g, '"rate":"<rate>"')
      .replace(/,"queuePosition":\d+|,"expectedStartAt":"[^"]*"/g, '')
      .replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/g, '<time>')
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (id) => {
        if (!ids.has(id)) ids.set(id, `<id${ids.size + 1}>`);
        return ids.get(id) as string;
      })
      .replace(/^\d{15}:/, '<cursor>:');
  });
  return JSON.parse(text);
}

describe('the examples of openapi.yaml', () => {
  it('cover every request and every response of the API (all but the page, docs and files)', () => {
    const fileTags = new Set(['web', 'docs']);
    const missing = mediaTypes().filter((m) => {
      const tag = ((doc.paths[m.path]?.[m.method] as Json | undefined)?.tags as string[] | undefined)?.[0] ?? '';
      const isFile = fileTags.has(tag) && (m.status === 'request' || Number(m.status) < 400);
      return !isFile && Object.keys(m.examples ?? {}).length === 0;
    });
    expect(missing.map((m) => m.where)).toEqual([]);
    expect(allExamples.length).toBeGreaterThan(40);
  });

  it('show every problem type of the catalogue whose status an operation answers', () => {
    const statuses = new Set(mediaTypes().map((m) => m.status));
    for (const [name, { status }] of Object.entries(problemTypes)) {
      if (!statuses.has(String(status))) continue;
      const shown = allExamples.some((e) => e.status === String(status) && e.name === name);
      expect(shown, `${name} (${status})`).toBe(true);
    }
  });

  it.each(allExamples.map((e) => [e.where, e] as const))('%s is valid against its schema', (_where, example) => {
    if (example.mediaType === 'text/event-stream') {
      expect(schemaErrors(`${example.pointer}/schema`, example.value)).toEqual([]);
      for (const item of parseEventStream(example.value as string)) {
        expectStreamItem(example.pointer, item, example.where);
      }
      return;
    }
    expect(schemaErrors(`${example.pointer}/schema`, example.value)).toEqual([]);
  });

  it('keep the rules a schema cannot state', () => {
    let jobs = 0;
    for (const example of allExamples) {
      const value = example.value as Json;
      const ref = at(example.pointer)?.schema as Json | undefined;
      const schema = String(ref?.$ref ?? '');
      if (example.mediaType === 'text/event-stream') expectPlausibleStream(value as unknown as string, example.where);
      else if (example.mediaType === 'application/problem+json') {
        expectPlausibleProblem(value, example.status, example.name, example.where);
      } else if (schema.endsWith('/JobResource')) {
        expectPlausibleJob(value, example.where);
        jobs++;
      } else if (schema.endsWith('/JobList') || schema.endsWith('/JobBatch')) {
        const items = value.items as Json[];
        for (const item of items) expectPlausibleJob(item, example.where);
        jobs += items.length;
        const created = items.map((item) => Date.parse(item.createdAt as string));
        if (schema.endsWith('/JobList')) {
          expect(created, `${example.where}: newest first`).toEqual([...created].sort((a, b) => b - a));
          const last = items.at(-1) as Json;
          if (value.nextCursor !== null) {
            const ms = String(Date.parse(last.createdAt as string)).padStart(15, '0');
            expect(value.nextCursor, `${example.where}: the cursor after the last item`).toBe(`${ms}:${last.id}`);
          }
        } else {
          expect((value.links as Json).events).toBe(
            `/events?jobs=${items.map((item) => item.id).join(',')}&summary=true`,
          );
        }
      } else if (schema.endsWith('/JobLogs')) {
        const lines = value.items as Json[];
        const seqs = lines.map((line) => line.seq as number);
        expect(seqs, `${example.where}: oldest first`).toEqual([...seqs].sort((a, b) => a - b));
        const ats = lines.map((line) => time(line.at, example.where));
        expect(ats, `${example.where}: oldest first`).toEqual([...ats].sort((a, b) => a - b));
      } else if (schema.endsWith('/StreamToken')) {
        expect(value.url as string).toContain(`&token=${value.token}`);
        time(value.expiresAt, example.where);
      } else if (example.path === '/jobs' && example.status === 'request') {
        const data = (value.data ?? {}) as { steps?: number; stepMs?: number };
        // About a second or two with the defaults, so Try it out shows a job finishing.
        expect((data.steps ?? 10) * (data.stepMs ?? 200), example.where).toBeLessThanOrEqual(12_000);
      }
    }
    expect(jobs).toBeGreaterThan(10);
  });

  it('prefill "Try it out" with a job that runs to completed: the first POST /jobs and POST /jobs/batch examples', () => {
    const submit = Object.values(submitExamples)[0]?.value as { type: string; data?: Json };
    const batch = Object.values(batchExamples)[0]?.value as { jobs: { type: string; data?: Json }[] };
    for (const job of [submit, ...batch.jobs]) {
      expect(job.type).toEqual(expect.any(String));
      expect(job.data ?? {}).not.toHaveProperty('failAtStep');
    }
  });
});

describe('a live jobcast answers the example requests with the example responses', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  const submitted = async (body: unknown) => {
    const res = await call(h, 'POST', '/jobs', { body });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    return res.body as Json & { id: string };
  };
  const settled = async (id: string, state: string) => {
    let job: Json = {};
    await waitFor(
      async () => {
        job = (await call(h, 'GET', `/jobs/${id}`)).body;
        return job.state === state;
      },
      `job ${id} ${state}`,
      20_000,
    );
    return job;
  };

  it('POST /jobs «fiveSteps»: queued, then completed; its logs; its stream resumed after done', async () => {
    const job = await submitted(submitExamples.fiveSteps.value);
    expect(normalize(job)).toEqual(normalize(submittedExamples.queued.value));
    expect(normalize(await settled(job.id, 'completed'))).toEqual(normalize(jobExamples.completed.value));
    expect((await call(h, 'GET', `/jobs/${job.id}/logs`)).body).toEqual(logExamples.none.value);
    const resumed = await fetch(`${h.url}/jobs/${job.id}/events`, { headers: { 'last-event-id': '6' } });
    expect(normalize(parseEventStream(await resumed.text()))).toEqual(
      normalize(parseEventStream(jobStreamExamples.resumed.value)),
    );
  });

  it('POST /jobs «fiveSteps» watched from the start: every event is the example event of its id', async () => {
    const job = await submitted(submitExamples.fiveSteps.value);
    const live = parseEventStream(await (await fetch(`${h.url}/jobs/${job.id}/events`)).text());
    const example = new Map(parseEventStream(jobStreamExamples.fromSubmit.value).map((e) => [e.id, e]));
    expect(live.length).toBeGreaterThan(2);
    for (const event of live) expect(normalize(event), `id ${event.id}`).toEqual(normalize(example.get(event.id)));
  });

  it('POST /jobs «withOptions»: queued until runAt, then cancelled at once', async () => {
    const job = await submitted(submitExamples.withOptions.value);
    expect(normalize(job)).toEqual(normalize(submittedExamples.delayed.value));
    const cancelled = await call(h, 'POST', `/jobs/${job.id}/cancel`);
    expect(cancelled.status).toBe(202);
    expect(normalize(cancelled.body)).toEqual(normalize(cancelledExamples.queued.value));
  });

  it('POST /jobs «failing»: failed on its last attempt', async () => {
    const job = await submitted(submitExamples.failing.value);
    expect(normalize(await settled(job.id, 'failed'))).toEqual(normalize(jobExamples.failed.value));
  });

  it('POST /jobs/batch «twoJobs»: both queued; on one stream, each event is the example event of its job and cursor', async () => {
    const res = await call(h, 'POST', '/jobs/batch', { body: batchExamples.twoJobs.value });
    expect(res.status).toBe(202);
    expect(normalize(res.body)).toEqual(normalize(batchAcceptedExamples.twoJobs.value));
    const ids = (res.body.items as Json[]).map((item) => item.id as string);
    const live = parseEventStream(await (await fetch(`${h.url}${(res.body.links as Json).events}`)).text());
    expect(live.filter((e) => e.event === 'done')).toHaveLength(2);
    // Per job: its own cursor (its place in `jobs`) and data, as in the example.
    const perJob = (events: Json[], jobIds: string[]) =>
      events
        .filter((e) => 'event' in e && e.event !== 'summary')
        .map((e) => {
          const data = JSON.parse(e.data as string) as Json;
          const index = jobIds.indexOf(data.jobId as string);
          return { key: `${index}:${(e.id as string).split('.')[index]}`, event: e.event, data: normalize(data) };
        });
    // The example's jobs, in the order of its `jobs` parameter, as the live ids are.
    const example = new Map(
      perJob(parseEventStream(multiStreamExamples.twoJobs.value), [exampleIds.quick, exampleIds.second]).map((e) => [
        e.key,
        e,
      ]),
    );
    for (const event of perJob(live, ids)) {
      const { key: _, ...expected } = example.get(event.key) ?? { key: '' };
      const { key, ...actual } = event;
      expect(actual, key).toEqual(expected);
    }
    // And the group's summary ends as the example's does: both completed.
    const lastSummary = (events: Json[]) =>
      JSON.parse(events.filter((e) => e.event === 'summary').at(-1)?.data as string);
    expect(lastSummary(live)).toEqual(lastSummary(parseEventStream(multiStreamExamples.twoJobs.value)));
  });
});

describe('a live jobcast answers each problem type as its catalogue example says', () => {
  const KEY = 'examples-key-0123456789';
  const SECRET = 'examples-stream-token-secret-0123456789';
  let open: Harness;
  let keyed: Harness;
  beforeAll(async () => {
    [open, keyed] = await Promise.all([
      startHarness({ env: { MAX_STREAMS_PER_CLIENT: '1' } }),
      startHarness({
        env: { API_KEYS: KEY, STREAM_TOKEN_SECRET: SECRET, RATE_LIMIT_PER_MINUTE: '600' },
        worker: false,
      }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([open?.close(), keyed?.close()]);
  });

  const bearer = { authorization: `Bearer ${KEY}` };
  const raw = async (h: Harness, method: string, path: string, init: { body?: string; headers?: Json } = {}) => {
    const res = await fetch(`${h.url}${path}`, {
      method,
      headers: init.headers as Record<string, string>,
      body: init.body,
    });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const json = { 'content-type': 'application/json' };
  const quick = { type: 'simulate', data: { steps: 1, stepMs: 0 } };
  /** The job id the catalogue's examples use. */
  const JOB_ID = '6f1c2b9e-4d3a-4e7b-9a58-0c2e1d7f3b64';

  /** How to make each problem happen; the live body must equal the catalogue's example. */
  const triggers: Record<ProblemType, (() => Promise<{ status: number; body: Json }>) | string> = {
    'malformed-json': () => raw(open, 'POST', '/jobs', { headers: json, body: '{"type":"simulate" "data":{}}' }),
    'bad-request': () =>
      raw(open, 'POST', '/jobs', { headers: { ...json, 'idempotency-key': 'has spaces' }, body: '{}' }),
    'not-found': () => raw(open, 'GET', '/job'),
    'job-not-found': () => raw(open, 'GET', `/jobs/${crypto.randomUUID()}`),
    unauthorized: () => raw(keyed, 'GET', '/jobs'),
    'invalid-token': () => raw(keyed, 'GET', `/jobs/${crypto.randomUUID()}/events?token=forged.token`),
    'token-expired': async () => {
      const id = crypto.randomUUID();
      const { token } = new StreamTokens(SECRET, 900).issue(ownerId(KEY), [id], Date.now() - 3_600_000);
      return raw(keyed, 'GET', `/jobs/${id}/events?token=${encodeURIComponent(token)}`);
    },
    'token-scope': async () => {
      const [a, b] = [crypto.randomUUID(), crypto.randomUUID()];
      const { token } = new StreamTokens(SECRET, 900).issue(ownerId(KEY), [a]);
      return raw(keyed, 'GET', `/events?jobs=${a},${b}&token=${encodeURIComponent(token)}`);
    },
    'listing-needs-key': () => raw(open, 'GET', '/jobs'),
    'method-not-allowed': () => raw(open, 'GET', '/jobs/batch'),
    'job-finished': async () => {
      const job = await open.submit(quick);
      await waitFor(async () => (await call(open, 'GET', `/jobs/${job.id}`)).body.state === 'completed', 'completed');
      return raw(open, 'POST', `/jobs/${job.id}/cancel`);
    },
    'idempotency-key-in-progress': async () => {
      // A first request that claimed the key and is still at work: its pending claim.
      const key = `examples-${crypto.randomUUID()}`;
      const fingerprint = createHash('sha256').update(canonicalJson(quick)).digest('hex');
      const slot = createHash('sha256').update(`\n${key}`).digest('hex');
      await open.redis.set(`${open.config.KEY_PREFIX}:idem:${slot}`, `${fingerprint}:${crypto.randomUUID()}:pending`);
      return raw(open, 'POST', '/jobs', { headers: { ...json, 'idempotency-key': key }, body: JSON.stringify(quick) });
    },
    'idempotency-key-jobs-gone': async () => {
      // A key whose one job finished and expired: committed, pointing at a record that is gone.
      const key = `examples-${crypto.randomUUID()}`;
      const fingerprint = createHash('sha256').update(canonicalJson(quick)).digest('hex');
      const slot = createHash('sha256').update(`\n${key}`).digest('hex');
      await open.redis.set(`${open.config.KEY_PREFIX}:idem:${slot}`, `${fingerprint}:${JOB_ID}`, 'EX', 86_400);
      return raw(open, 'POST', '/jobs', { headers: { ...json, 'idempotency-key': key }, body: JSON.stringify(quick) });
    },
    'payload-too-large': () =>
      raw(open, 'POST', '/jobs/batch', { headers: json, body: JSON.stringify({ pad: 'x'.repeat(1_048_576) }) }),
    'headers-too-large': () => raw(open, 'GET', `/jobs/${JOB_ID}`, { headers: { 'x-padding': 'x'.repeat(20_000) } }),
    'unsupported-media-type': () =>
      raw(open, 'POST', '/jobs', { headers: { 'content-type': 'text/plain' }, body: JSON.stringify(quick) }),
    'validation-failed': () =>
      raw(open, 'POST', '/jobs', { headers: json, body: '{"type":"simulate","data":{"steps":0,"colour":"red"}}' }),
    'unknown-job-type': () => raw(open, 'POST', '/jobs', { headers: json, body: '{"type":"no-such-type"}' }),
    'idempotency-key-reused': async () => {
      const headers = { ...json, 'idempotency-key': `examples-${crypto.randomUUID()}` };
      await raw(open, 'POST', '/jobs', { headers, body: JSON.stringify(quick) });
      return raw(open, 'POST', '/jobs', { headers, body: JSON.stringify({ ...quick, data: { steps: 2 } }) });
    },
    'too-many-requests': async () => {
      // The limit counts per fixed minute: fill it within one.
      const left = 60_000 - (Date.now() % 60_000);
      if (left < 10_000) await new Promise((resolve) => setTimeout(resolve, left + 100));
      const batch = JSON.stringify({ jobs: Array.from({ length: 100 }, () => quick) });
      for (let i = 0; i < 6; i++)
        await raw(keyed, 'POST', '/jobs/batch', { headers: { ...json, ...bearer }, body: batch });
      return raw(keyed, 'POST', '/jobs', { headers: { ...json, ...bearer }, body: JSON.stringify(quick) });
    },
    'too-many-streams': async () => {
      const job = await open.submit({ ...quick, options: { delayMs: 60_000 } });
      const first = new AbortController();
      const held = await fetch(`${open.url}/jobs/${job.id}/events`, { signal: first.signal });
      expect(held.status).toBe(200);
      try {
        return await raw(open, 'GET', `/jobs/${job.id}/events`);
      } finally {
        first.abort();
      }
    },
    'internal-error': 'only a bug makes one; its example is checked against the schema and the rules above',
    unavailable: 'needs Redis gone; faults.test.ts makes it happen, and its example is checked above',
  };

  it.each(Object.keys(problemTypes) as ProblemType[])('%s', async (type) => {
    const trigger = triggers[type];
    if (typeof trigger === 'string') return;
    const { status, body } = await trigger();
    const { title, status: expectedStatus, example } = problemTypes[type];
    const expected: Json = { type: `/problems/${type}`, title, status: expectedStatus, ...example };
    // The limits the example quotes are the defaults; the live server here has smaller ones.
    if (type === 'too-many-streams') {
      expected.detail = String(expected.detail).replace('200', '1');
      expected.limit = 1;
    }
    if (type === 'idempotency-key-jobs-gone') {
      expected.detail = String(expected.detail).replace(
        /for \d+ s more/,
        String(body.detail).match(/for \d+ s more/)?.[0] ?? '',
      );
    }
    // The types this service runs: the example's, plus any built-in type added since.
    if (type === 'unknown-job-type') {
      const names = builtInJobTypes.map((t) => t.name);
      expected.knownTypes = names;
      expected.detail = `unknown job type "no-such-type"; known types: ${names.join(', ')}`;
    }
    if (type === 'too-many-requests') {
      expected.detail = String(expected.detail).replace(/retry in \d+ s/, `retry in ${body.retryAfterSeconds} s`);
      expected.retryAfterSeconds = body.retryAfterSeconds;
    }
    expect(status).toBe(expectedStatus);
    expect(normalize(body)).toEqual(normalize(expected));
  });
});
