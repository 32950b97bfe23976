/**
 * The page at `/` against a jobcast that requires API keys, in a real headless Chromium: it asks
 * for a key instead of failing, refuses a wrong one, runs jobs with the right one over one event
 * stream, keeps the key for the tab only (sessionStorage: a reload keeps it, a new tab asks
 * again), resumes what was refused once signed in, and forgets the key on sign-out. The key is
 * never rendered into the page or kept in localStorage, and the only console errors are the
 * 401s Chromium logs for refused requests.
 */
import { randomBytes } from 'node:crypto';
import type { BrowserContext, ConsoleMessage, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webAssets } from '../src/web/assets.js';
import { type Harness, startHarness, waitFor } from './support/harness/harness.js';
import { openPage, type PageUnderTest, sharedChromium, untilRows } from './support/page/browser.js';

const KEY = `page-${randomBytes(18).toString('base64url')}`;
const STORAGE_KEY = 'jobcast.page.apiKey.v1';
/** What Chromium logs for each response with status 401; nothing else may appear. */
const UNAUTHORIZED = 'Failed to load resource: the server responded with a status of 401 (Unauthorized)';

let h: Harness;
let browser: Awaited<ReturnType<typeof sharedChromium>>;
beforeAll(async () => {
  [h, browser] = await Promise.all([
    startHarness({ env: { API_KEYS: KEY, WORKER_CONCURRENCY: '4', SSE_RETRY_MS: '200' } }),
    sharedChromium(),
    // The page is bundled from source on its first request: bundled meanwhile instead.
    webAssets(),
  ]);
});
afterAll(async () => {
  await h?.close();
});

/** Accepts exactly Chromium's 401 line for a call to the API, and counts them by path. */
function expectedUnauthorized(seen: string[]): (message: ConsoleMessage) => boolean {
  return (message) => {
    if (message.text() !== UNAUTHORIZED) return false;
    const url = new URL(message.location().url);
    if (url.origin !== new URL(h.url).origin || !/^\/(?:jobs|events)(?:\/|$)/.test(url.pathname)) return false;
    seen.push(`${url.pathname}${url.search}`);
    return true;
  };
}

async function withPage(run: (t: PageUnderTest, unauthorized: string[]) => Promise<void>): Promise<void> {
  const unauthorized: string[] = [];
  const t = await openPage(browser, h.url, { expectedError: expectedUnauthorized(unauthorized) });
  try {
    await run(t, unauthorized);
    expect(t.errors).toEqual([]);
    expect(t.foreignRequests).toEqual([]);
    expect(await t.streams.maxOpen()).toBeLessThanOrEqual(1);
  } finally {
    await t.close();
  }
}

interface Row {
  id: string;
  state: string;
  value: number;
}

const rows = (page: Page): Promise<Row[]> =>
  page.$$eval('#job-list > li', (items) =>
    items.map((li) => ({
      id: (li as HTMLElement).dataset.jobId ?? '',
      state: (li as HTMLElement).dataset.state ?? '',
      value: (li.querySelector('progress') as HTMLProgressElement).value,
    })),
  );

const until = (page: Page, what: string, check: (rows: Row[]) => boolean, timeoutMs?: number): Promise<Row[]> =>
  untilRows(page, rows, what, check, timeoutMs);

const connection = (page: Page) => page.getAttribute('#connection', 'data-connection');
const storedKey = (page: Page) => page.evaluate((name) => sessionStorage.getItem(name), STORAGE_KEY);

/** The sign-in form is up, and the start form is not. */
async function expectSignIn(page: Page): Promise<void> {
  await page.locator('#sign-in').waitFor({ state: 'visible' });
  expect(await page.isHidden('#launcher')).toBe(true);
  expect(await page.isHidden('#sign-out')).toBe(true);
  await expect.poll(() => connection(page)).toBe('locked');
  expect(await page.textContent('#connection-label')).toBe('Key needed');
}

async function signIn(page: Page, key: string): Promise<void> {
  await page.getByLabel('API key', { exact: true }).fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Signed in: the form is gone, the start form and Sign out are back. */
async function expectSignedIn(page: Page): Promise<void> {
  await page.locator('#sign-in').waitFor({ state: 'hidden' });
  expect(await page.isVisible('#launcher')).toBe(true);
  expect(await page.isVisible('#sign-out')).toBe(true);
  expect(await connection(page)).not.toBe('locked');
}

/** The key is in this tab's sessionStorage only: not in localStorage, not in the page. */
async function expectKeyKeptForTheTab(page: Page): Promise<void> {
  expect(await storedKey(page)).toBe(KEY);
  const local = await page.evaluate(() => JSON.stringify({ ...localStorage }));
  expect(local).not.toContain(KEY);
  expect(await page.content()).not.toContain(KEY);
  expect(await page.inputValue('#api-key')).toBe('');
}

async function startJobs(page: Page, input: { steps: number; stepMs: number }, count: number): Promise<string[]> {
  await page.fill('#steps', String(input.steps));
  await page.fill('#step-ms', String(input.stepMs));
  const before = (await rows(page)).length;
  await page.click('#start');
  for (let i = 1; i < count; i++) await page.keyboard.press('Enter');
  await waitFor(async () => (await rows(page)).length === before + count, `${count} new job rows`);
  return (await rows(page)).slice(0, count).map((r) => r.id);
}

interface StreamRequest {
  url: string;
  authorization?: string;
  lastEventId?: string;
}

/** The page's event-stream requests from now on, in order, with the headers they carried. */
function recordStreams(page: Page): StreamRequest[] {
  const seen: StreamRequest[] = [];
  page.on('request', (request: Request) => {
    if (!/\/(?:events|jobs\/[^/]+\/events)(?:\?|$)/.test(request.url())) return;
    const entry: StreamRequest = { url: request.url() };
    seen.push(entry);
    void request.allHeaders().then((headers) => {
      entry.authorization = headers.authorization;
      entry.lastEventId = headers['last-event-id'];
    });
  });
  return seen;
}

async function jobState(id: string): Promise<string> {
  const res = await fetch(`${h.url}/jobs/${id}`, { headers: { authorization: `Bearer ${KEY}` } });
  return ((await res.json()) as { state: string }).state;
}

/** A tab opened by a person in the same browser: its own sessionStorage, the shared localStorage. */
async function newTab(context: BrowserContext, errors: string[], unauthorized: string[]): Promise<Page> {
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const expected = expectedUnauthorized(unauthorized);
  page.on('console', (message) => {
    if (message.type() === 'error' && !expected(message)) errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
  await page.goto(h.url);
  return page;
}

describe('the page, with API keys required', () => {
  it('asks for a key, refuses a wrong one, runs jobs over one stream with the right one, and keeps it across a reload', async () => {
    await withPage(async (t, unauthorized) => {
      const { page } = t;
      await expectSignIn(page);
      // An accessible password field, explained, and nothing in it yet.
      const field = page.getByLabel('API key', { exact: true });
      expect(await field.getAttribute('type')).toBe('password');
      expect(await field.getAttribute('aria-describedby')).toContain('sign-in-help');
      expect(await page.textContent('#sign-in-help')).toMatch(/API key.*this tab only/s);
      expect(await page.isHidden('#sign-in-error')).toBe(true);
      // The page says a key is needed (its <meta>): the form came without a refused request.
      expect(unauthorized).toEqual([]);
      expect(await page.getAttribute('meta[name="jobcast-api-keys"]', 'content')).toBe('required');

      await signIn(page, 'not-the-key');
      await expect.poll(() => page.isVisible('#sign-in-error')).toBe(true);
      expect(await page.textContent('#sign-in-error')).toBe('That API key was not accepted. Check it and try again.');
      expect(await field.getAttribute('aria-invalid')).toBe('true');
      expect(await page.isVisible('#sign-in')).toBe(true);
      expect(await storedKey(page)).toBeNull();

      await signIn(page, KEY);
      await expectSignedIn(page);
      await expectKeyKeptForTheTab(page);
      const refusedBeforeSignIn = unauthorized.length;

      const streams = recordStreams(page);
      const ids = await startJobs(page, { steps: 14, stepMs: 250 }, 2);
      await until(page, 'both jobs running', (all) => all.every((r) => r.state === 'active' && r.value > 0));
      expect(await connection(page)).toBe('live');

      const beforeReload = streams.length;
      await page.reload();
      // The tab kept its key: no form, the jobs come back and resume from their cursors.
      await page.locator('#launcher').waitFor({ state: 'visible' });
      expect(await page.isHidden('#sign-in')).toBe(true);
      await expectKeyKeptForTheTab(page);
      const done = await until(page, 'both jobs completed', (all) => all.every((r) => r.state === 'completed'));
      expect(done.map((r) => r.id)).toEqual(ids);
      expect(done.map((r) => r.value)).toEqual([100, 100]);
      expect(await page.textContent('#summary')).toBe('2 completed');
      await expect.poll(() => connection(page), { timeout: 5_000 }).toBe('idle');

      // One stream for both jobs, with the key, resumed after the reload rather than from zero.
      expect(streams.some((s) => s.url.includes('/events?jobs='))).toBe(true);
      for (const s of streams) expect(s.authorization).toBe(`Bearer ${KEY}`);
      const resumed = streams.slice(beforeReload).find((s) => s.url.includes('/events?jobs='));
      expect(resumed?.lastEventId, 'the first stream after the reload').toMatch(/^\d+\.\d+$/);
      expect(resumed?.lastEventId).not.toBe('0.0');
      for (const id of ids) expect(await jobState(id)).toBe('completed');
      // Signed in, nothing was refused.
      expect(unauthorized.length).toBe(refusedBeforeSignIn);
    });
  });

  it('asks again in a new tab and when the key is no longer accepted, then resumes; sign-out forgets the key', async () => {
    await withPage(async (t, unauthorized) => {
      const { page, context } = t;
      await expectSignIn(page);
      await signIn(page, KEY);
      await expectSignedIn(page);
      const [id] = (await startJobs(page, { steps: 16, stepMs: 250 }, 1)) as [string];
      await until(page, 'the job running', (all) => (all[0]?.value ?? 0) > 0);

      // A new tab shares the job list (localStorage) but not the key (sessionStorage).
      const tabErrors: string[] = [];
      const tab = await newTab(context, tabErrors, unauthorized);
      await expectSignIn(tab);
      expect(await storedKey(tab)).toBeNull();
      expect((await rows(tab)).map((r) => r.id)).toEqual([id]);
      await signIn(tab, KEY);
      await expectSignedIn(tab);
      await until(tab, 'the job live in the new tab', (all) => all[0]?.state === 'active' && (all[0]?.value ?? 0) > 0);
      await expect.poll(() => connection(tab)).toBe('live');
      await tab.close();
      expect(tabErrors).toEqual([]);

      // The key this tab holds is refused (changed by the operator): the page asks for a valid
      // one, says why, and picks the job up where it was once it has one.
      await page.evaluate((name) => sessionStorage.setItem(name, 'a-key-that-was-revoked'), STORAGE_KEY);
      const refusedBefore = unauthorized.length;
      await page.reload();
      await expectSignIn(page);
      expect(await page.textContent('#sign-in-error')).toMatch(/no longer accepted/);
      expect(await storedKey(page)).toBeNull();
      await expect.poll(() => unauthorized.length).toBeGreaterThan(refusedBefore);
      expect((await rows(page)).map((r) => r.id)).toEqual([id]);
      await signIn(page, KEY);
      await expectSignedIn(page);
      expect(await page.isHidden('#sign-in-error')).toBe(true);
      await until(page, 'the job completed after signing in again', (all) => all[0]?.state === 'completed');
      expect(await jobState(id)).toBe('completed');

      // Sign out: the key is gone from the tab, the form is back, and stays after a reload; the
      // job list is gone too, from the page and from localStorage (the next person at this
      // browser sees nothing of it).
      await page.getByRole('button', { name: 'Sign out' }).click();
      await expectSignIn(page);
      expect(await storedKey(page)).toBeNull();
      expect(await page.isHidden('#sign-in-error')).toBe(true);
      expect(await rows(page)).toEqual([]);
      expect(await page.evaluate(() => JSON.stringify({ ...localStorage }))).not.toContain(id);
      await page.reload();
      await expectSignIn(page);
      expect(await rows(page)).toEqual([]);
    });
  });

  it('does not bring back a job whose submit was still on its way at sign-out', async () => {
    await withPage(async (t) => {
      const { page } = t;
      await expectSignIn(page);
      await signIn(page, KEY);
      await expectSignedIn(page);
      // Hold the submit until the person has signed out, then let it through.
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      let submitted: string | undefined;
      await page.route('**/jobs', async (route) => {
        if (route.request().method() !== 'POST') return route.continue();
        await held;
        const response = await route.fetch();
        submitted = ((await response.json()) as { id: string }).id;
        await route.fulfill({ response });
      });
      await page.fill('#steps', '1');
      await page.fill('#step-ms', '0');
      await page.click('#start');
      await page.getByRole('button', { name: 'Sign out' }).click();
      await expectSignIn(page);
      release();
      await waitFor(() => submitted !== undefined, 'the held submit answered');
      // Give the page the time to (wrongly) draw and save it.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await rows(page)).toEqual([]);
      expect(await page.evaluate(() => JSON.stringify({ ...localStorage }))).not.toContain(submitted);
    });
  });
});
