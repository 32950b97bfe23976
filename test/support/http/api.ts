/**
 * Plain HTTP calls to a harness's API, the checks every problem response must pass, and a
 * look at what BullMQ itself holds (its job counts and jobs), for tests that must prove that
 * something was — or was not — enqueued.
 */
import { Queue } from 'bullmq';
import { expect } from 'vitest';
import { JobResource } from '../../../src/jobs/schemas.js';
import type { Harness } from '../harness/harness.js';

export interface ApiResponse {
  status: number;
  headers: Headers;
  /** The parsed JSON body (undefined for an empty body). */
  body: Record<string, unknown>;
}

/** A job resource as the API returns it. */
export type Job = JobResource;

/** Where the API is: a harness, a fleet member (`{ url }`), or its base URL. */
export type Target = string | { url?: string | undefined };

const baseOf = (target: Target): string => {
  const url = typeof target === 'string' ? target : target.url;
  if (!url) throw new Error('this process serves no API');
  return url;
};

/**
 * Calls the API and parses its JSON answer. `body` is sent as JSON unless it is a string.
 *
 * @example
 * const res = await call(h, 'POST', '/jobs', { body: { type: 'simulate' } });
 */
export async function call(
  h: Target,
  method: 'GET' | 'POST',
  path: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  }
  const res = await fetch(`${baseOf(h)}${path}`, { method, headers, body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/**
 * POSTs a job (202 expected; a `simulate` job unless `type` is given) and returns the resource,
 * checked against the contract's schema. The one way tests submit a job over REST.
 *
 * @example
 * const { id } = await submitJob(h, { data: { steps: 3, stepMs: 10 } });
 */
export async function submitJob(
  h: Target,
  body: { type?: string; data?: unknown; options?: Record<string, unknown>; webhook?: unknown; tags?: string[] },
  headers: Record<string, string> = {},
): Promise<Job> {
  const res = await call(h, 'POST', '/jobs', { body: { type: 'simulate', ...body }, headers });
  if (res.status !== 202) throw new Error(`submit failed: ${res.status} ${JSON.stringify(res.body)}`);
  return JobResource.parse(res.body);
}

/** GET /jobs/{id} (200 expected), checked against the contract's schema. */
export async function getJob(h: Target, id: string, headers: Record<string, string> = {}): Promise<Job> {
  const res = await call(h, 'GET', `/jobs/${id}`, { headers });
  if (res.status !== 200) throw new Error(`GET /jobs/${id}: ${res.status} ${JSON.stringify(res.body)}`);
  return JobResource.parse(res.body);
}

/** A problem's body as RFC 9457 and the catalogue (src/problems.ts) define it. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  [key: string]: unknown;
}

/**
 * An HTTP reply in any of the shapes the helpers return: {@link call}'s (`headers` and parsed
 * `body`), `send`'s in `security.ts` (`headers`, `text`, `json`), or a bare
 * `{ status, contentType, text }`.
 */
export type AnyReply = { status: number } & (
  | { headers: Headers; body: Record<string, unknown> }
  | { headers: Headers; text: string; json?: Record<string, unknown> | undefined }
  | { contentType: string; text: string }
);

/**
 * GET /jobs/{id} while processes may be dying: the resource, or undefined when the API cannot
 * be reached or does not answer 200.
 */
export async function findJob(h: Target, id: string, headers: Record<string, string> = {}): Promise<Job | undefined> {
  const res = await call(h, 'GET', `/jobs/${id}`, { headers }).catch(() => undefined);
  return res?.status === 200 ? JobResource.parse(res.body) : undefined;
}

/**
 * Asserts an RFC 9457 problem and returns its body: the status (any 4xx when none is given),
 * `application/problem+json`, and a body with `type` (`/problems/<problem>` when given), a
 * `title`, the same `status` and a non-empty `detail`.
 *
 * @example
 * expectProblem(await call(h, 'GET', `/jobs/${UNKNOWN_ID}`), 404, 'not-found');
 */
export function expectProblem(res: AnyReply, status?: number, problem?: string): ProblemBody {
  const contentType = 'headers' in res ? res.headers.get('content-type') : res.contentType;
  const body: Record<string, unknown> =
    'body' in res ? res.body : (('json' in res ? res.json : undefined) ?? (res.text ? JSON.parse(res.text) : {}));
  const what = JSON.stringify(body);
  if (status === undefined) {
    expect(res.status, what).toBeGreaterThanOrEqual(400);
    expect(res.status, what).toBeLessThan(500);
  } else {
    expect(res.status, what).toBe(status);
  }
  expect(contentType, what).toBe('application/problem+json');
  expect(body, what).toMatchObject({ status: res.status, type: expect.any(String), title: expect.any(String) });
  expect(typeof body.detail, what).toBe('string');
  expect((body.detail as string).length, what).toBeGreaterThan(0);
  if (problem) expect(body.type, what).toBe(`/problems/${problem}`);
  return body as ProblemBody;
}

export interface Page {
  items: Job[];
  nextCursor: string | null;
}

/** One page of GET /jobs (200 expected). */
export async function listPage(
  h: Harness,
  query: Record<string, string | number>,
  headers: Record<string, string> = {},
): Promise<Page> {
  const qs = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]));
  const res = await call(h, 'GET', `/jobs?${qs}`, { headers });
  if (res.status !== 200) throw new Error(`GET /jobs?${qs}: ${res.status} ${JSON.stringify(res.body)}`);
  expect(Object.keys(res.body).sort()).toEqual(['items', 'nextCursor']);
  const page = res.body as unknown as Page;
  return { items: page.items.map((item) => JobResource.parse(item)), nextCursor: page.nextCursor };
}

/**
 * Walks every page of GET /jobs from the first, calling `between` after each page (to change
 * things mid-walk). Fails past `maxPages`, so a cursor that loops cannot hang a test.
 */
export async function walkPages(
  h: Harness,
  query: Record<string, string | number>,
  options: { maxPages?: number; between?: (pageIndex: number) => Promise<void>; headers?: Record<string, string> } = {},
): Promise<Page[]> {
  const pages: Page[] = [];
  let cursor: string | null = null;
  do {
    if (pages.length >= (options.maxPages ?? 100)) throw new Error(`more than ${pages.length} pages`);
    const page = await listPage(h, cursor === null ? query : { ...query, cursor }, options.headers);
    pages.push(page);
    cursor = page.nextCursor;
    await options.between?.(pages.length - 1);
  } while (cursor !== null);
  return pages;
}

/**
 * The harness's BullMQ queue, as an operator would open it, on the harness's inspection
 * connection (shared: closing the queue leaves the connection open).
 */
export function bullQueue(h: Harness): Queue {
  return new Queue(h.config.QUEUE_NAME, { connection: h.redis, prefix: `{${h.config.KEY_PREFIX}}` });
}

/** Every job BullMQ holds, in any state. */
export async function bullJobTotal(queue: Queue): Promise<number> {
  const counts = await queue.getJobCounts();
  return Object.values(counts).reduce((sum, n) => sum + n, 0);
}

/** The job index: the sorted sets `GET /jobs` reads, one per API-key owner (`<prefix>:index:<owner>`). */
async function indexKeys(h: Harness): Promise<string[]> {
  const base = `${h.config.KEY_PREFIX}:index`;
  const found = new Set<string>();
  let cursor = '0';
  do {
    const [next, keys] = await h.redis.scan(cursor, 'MATCH', `${base}*`, 'COUNT', '1000');
    for (const key of keys) if (key === base || key.startsWith(`${base}:`)) found.add(key);
    cursor = next;
  } while (cursor !== '0');
  return [...found];
}

/** Job records in Redis (`<prefix>:{<id>}` hashes): every job, with or without a key. */
export async function recordCount(h: Harness): Promise<number> {
  const pattern = new RegExp(`^${h.config.KEY_PREFIX}:\\{[0-9a-f-]{36}\\}$`);
  let cursor = '0';
  let n = 0;
  do {
    const [next, keys] = await h.redis.scan(cursor, 'MATCH', `${h.config.KEY_PREFIX}:{*`, 'COUNT', '1000');
    n += keys.filter((key) => pattern.test(key)).length;
    cursor = next;
  } while (cursor !== '0');
  return n;
}

/** Members of the job index (jobs submitted with a key; an open service keeps none). */
export async function indexSize(h: Harness): Promise<number> {
  const sizes = await Promise.all((await indexKeys(h)).map((key) => h.redis.zcard(key)));
  return sizes.reduce((sum, n) => sum + n, 0);
}

/** Whether the job index holds `id`. */
export async function indexHas(h: Harness, id: string): Promise<boolean> {
  for (const key of await indexKeys(h)) {
    const members = await h.redis.zrange(key, '0', '-1');
    if (members.some((m) => m.endsWith(`:${id}`))) return true;
  }
  return false;
}

/** An id no job has: a well-formed random UUID. */
export const UNKNOWN_ID = '0b6f3e9c-2d7a-4c1e-9f0a-5e8d7c6b5a49';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
