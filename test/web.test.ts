/**
 * The page at `/` in a real headless Chromium, against a real API and worker: jobs started from
 * the page run side by side over one event stream, fail, get cancelled, survive an API restart
 * and a reload — with zero console errors under the page's Content-Security-Policy, and never an
 * API-key form (this service is open; `web-auth.test.ts` covers one that is not). Writes
 * `docs/screenshot.png` only when asked (`npm run screenshot`, i.e. JOBCAST_SCREENSHOT=1), so a
 * test run never changes a tracked file.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobKeys } from '../src/jobs/keys.js';
import { createLogger } from '../src/log.js';
import { PAGE_CSP } from '../src/routes/web.js';
import { startApi } from '../src/server.js';
import { webAssets } from '../src/web/assets.js';
import { summarize } from '../src/web/page-job.js';
import { type Harness, startHarness, waitFor } from './support/harness/harness.js';
import {
  isConnectionRefused,
  openPage,
  type PageUnderTest,
  sharedChromium,
  untilRows,
} from './support/page/browser.js';

/** Linked from the README; rewritten only by `npm run screenshot`. */
const SCREENSHOT = fileURLToPath(new URL('../docs/screenshot.png', import.meta.url));
const WRITE_SCREENSHOT = process.env.JOBCAST_SCREENSHOT === '1';

let h: Harness;
let browser: Browser;
beforeAll(async () => {
  // Twelve jobs must run at once; a dropped stream is retried within a fraction of a second.
  // The page is bundled from source on its first request: bundled meanwhile instead.
  [h, browser] = await Promise.all([
    startHarness({ env: { WORKER_CONCURRENCY: '16', SSE_RETRY_MS: '200', SHUTDOWN_TIMEOUT_MS: '1000' } }),
    sharedChromium(),
    webAssets(),
  ]);
});
afterAll(async () => {
  await h?.close();
});

/** What a person sees in one row of the job list. */
interface Row {
  id: string;
  state: string;
  value: number;
  percent: string;
  badge: string;
  message: string;
  /** The time left or the place in the queue. */
  timing: string;
  /** What a screen reader hears of the bar. */
  spoken: string;
  cancelDisabled: boolean;
}

function rows(page: Page): Promise<Row[]> {
  return page.$$eval('#job-list > li', (items) =>
    items.map((li) => {
      const text = (selector: string) => li.querySelector(selector)?.textContent ?? '';
      return {
        id: (li as HTMLElement).dataset.jobId ?? '',
        state: (li as HTMLElement).dataset.state ?? '',
        value: (li.querySelector('progress') as HTMLProgressElement).value,
        percent: text('.percent'),
        badge: text('.badge'),
        message: text('.message'),
        timing: text('.eta'),
        spoken: li.querySelector('progress')?.getAttribute('aria-valuetext') ?? '',
        cancelDisabled: (li.querySelector('button.cancel') as HTMLButtonElement).disabled,
      };
    }),
  );
}

const connection = (page: Page) => page.getAttribute('#connection', 'data-connection');

async function fillForm(page: Page, input: { steps: number; stepMs: number; failAtStep?: number }): Promise<void> {
  await page.fill('#steps', String(input.steps));
  await page.fill('#step-ms', String(input.stepMs));
  await page.fill('#fail-at-step', input.failAtStep === undefined ? '' : String(input.failAtStep));
}

/** Presses Start `count` times; returns the new jobs' ids, newest first. */
async function startJobs(page: Page, count = 1): Promise<string[]> {
  const before = (await rows(page)).length;
  await page.click('#start');
  // Enter on the focused button: a person's quick presses (a click waits for stability checks).
  for (let i = 1; i < count; i++) await page.keyboard.press('Enter');
  await waitFor(async () => (await rows(page)).length === before + count, `${count} new job rows`);
  return (await rows(page)).slice(0, count).map((r) => r.id);
}

const until = (page: Page, what: string, check: (rows: Row[]) => boolean, timeoutMs?: number): Promise<Row[]> =>
  untilRows(page, rows, what, check, timeoutMs);

async function withPage(
  run: (t: PageUnderTest) => Promise<void>,
  options: Parameters<typeof openPage>[2] = {},
): Promise<void> {
  const t = await openPage(browser, h.url, options);
  try {
    await run(t);
    // Every test: nothing went wrong in the page (no 401 either: this service is open, so the
    // API-key form never shows), and never more than one stream was open.
    expect(t.errors).toEqual([]);
    expect(await t.page.isHidden('#sign-in')).toBe(true);
    expect(await t.page.isHidden('#sign-out')).toBe(true);
    expect(t.foreignRequests).toEqual([]);
    expect(await t.streams.maxOpen()).toBeLessThanOrEqual(1);
  } finally {
    await t.close();
  }
}

describe('the page', () => {
  it('is served by jobcast under a strict CSP, with cacheable assets, and loads with zero console errors', async () => {
    const res = await fetch(`${h.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toBe(PAGE_CSP);
    expect(PAGE_CSP).not.toContain('unsafe-inline');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const html = await res.text();
    // An open service tells its page so: the page then lists nothing and asks for no key.
    expect(html).toContain('<meta name="jobcast-api-keys" content="off" />');
    expect(html).not.toMatch(/(?:src|href)="(?:https?:)?\/\//);
    // Its way to the API's documentation, rendered and as the description, both served here.
    for (const link of ['/docs', '/openapi.yaml']) {
      expect(html).toContain(`href="${link}"`);
      expect((await fetch(`${h.url}${link}`)).status, link).toBe(200);
    }
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>|\sstyle=|\son\w+=/);
    for (const [pattern, type] of [
      [/src="(\/app\.js\?v=[\w-]+)"/, 'text/javascript; charset=utf-8'],
      [/href="(\/styles\.css\?v=[\w-]+)"/, 'text/css; charset=utf-8'],
    ] as const) {
      const path = pattern.exec(html)?.[1] as string;
      const asset = await fetch(`${h.url}${path}`);
      expect(asset.headers.get('content-type'), path).toBe(type);
      expect(asset.headers.get('cache-control'), path).toBe('public, max-age=31536000, immutable');
      const etag = asset.headers.get('etag') as string;
      expect(etag).toMatch(/^"[\w-]+"$/);
      expect((await asset.text()).length).toBeGreaterThan(1000);
      const again = await fetch(`${h.url}${path}`, { headers: { 'if-none-match': etag } });
      expect(again.status).toBe(304);
      // Without the version, the file must be revalidated, never kept.
      const plain = await fetch(`${h.url}${path.split('?')[0]}`);
      expect(plain.headers.get('cache-control')).toBe('no-cache');
    }

    await withPage(async ({ page }) => {
      await expect.poll(() => page.textContent('#summary')).toBe('No jobs yet');
      expect(await page.isVisible('#empty')).toBe(true);
      expect(await connection(page)).toBe('idle');
      expect(await page.isVisible('#launcher')).toBe(true);
      expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
      expect(await page.title()).toContain('jobcast');
      await sleep(300);
    });
  });

  it('runs 12 jobs at the same time over one event stream, each to 100% and completed', async () => {
    await withPage(async (t) => {
      const { page } = t;
      // Long enough that twelve submissions, however slow the machine, overlap their runs.
      await fillForm(page, { steps: 8, stepMs: 1_000 });
      const ids = await startJobs(page, 12);
      let mostRunning = 0;
      const done = await until(page, 'all 12 jobs completed', (all) => {
        const running = all.filter((r) => r.state === 'active' && r.value > 0 && r.value < 100).length;
        mostRunning = Math.max(mostRunning, running);
        return all.length === 12 && all.every((r) => r.state === 'completed');
      });
      expect(mostRunning, 'jobs with 0 < progress < 100 at one moment').toBe(12);
      expect(done.map((r) => r.id)).toEqual(ids);
      for (const r of done) {
        expect(r).toMatchObject({ value: 100, percent: '100%', badge: 'Completed', cancelDisabled: true });
        expect(r.message).toBe('Done — step 8 of 8');
      }
      // Accessible bars: one progressbar per job, named by its job.
      expect(await page.getByRole('progressbar').count()).toBe(12);
      expect(await page.getByRole('progressbar', { name: ids[0]?.slice(0, 8) }).count()).toBe(1);
      expect(await page.textContent('#summary')).toBe('12 completed');
      await expect.poll(() => connection(page), { timeout: 5_000 }).toBe('idle');
      // One stream for all of them: restarted as jobs were added, never two at once.
      expect(t.streams.urls.length).toBeGreaterThanOrEqual(1);
      expect(t.streams.urls.length).toBeLessThanOrEqual(12);
      expect(t.streams.urls.some((url) => url.includes('/events?jobs='))).toBe(true);
      for (const r of done) {
        const job = (await (await fetch(`${h.url}/jobs/${r.id}`)).json()) as { state: string };
        expect(job.state).toBe('completed');
      }
    });
  });

  it('shows a job that fails as failed, with its error', async () => {
    await withPage(async ({ page }) => {
      await fillForm(page, { steps: 6, stepMs: 80, failAtStep: 3 });
      const [id] = await startJobs(page);
      const [failed] = await until(page, 'the job failed', (all) => all[0]?.state === 'failed');
      expect(failed).toMatchObject({ id, badge: 'Failed', percent: '33%', cancelDisabled: true });
      expect(failed?.message).toBe('simulated failure at step 3 of 6');
      expect(await page.textContent('#summary')).toBe('1 failed');
    });
  });

  it("shows a job's log lines and result on demand, live while it runs", async () => {
    await withPage(async ({ page }) => {
      await fillForm(page, { steps: 6, stepMs: 300 });
      expect(await page.isChecked('#log-steps')).toBe(true);
      const [id] = (await startJobs(page, 1)) as [string];
      const row = page.locator(`li[data-job-id="${id}"]`);
      await until(page, 'the job running', (all) => all[0]?.state === 'active');
      await row.locator('summary').click();
      await expect.poll(() => row.locator('.result').textContent()).toBe('No result yet: the job has not finished.');
      // Lines already logged, then the next ones as they come.
      await expect.poll(() => row.locator('.log li').count(), { timeout: 15_000 }).toBe(6);
      await expect.poll(() => row.locator('.result').textContent(), { timeout: 15_000 }).toBe('{\n  "steps": 6\n}');
      expect(await row.locator('.log li').allTextContents()).toEqual(
        [1, 2, 3, 4, 5, 6].map((step) => `step ${step} of 6 done after ${step * 300} ms`),
      );
    });
  });

  it('sums the list up by state, queued apart from running', () => {
    expect(summarize(['queued', 'queued', 'active', 'completed', 'failed'])).toBe(
      '2 queued · 1 running · 1 completed · 1 failed',
    );
    expect(summarize([])).toBe('No jobs yet');
  });

  it('cancels a running job, from the keyboard too: the focus stays on that job', async () => {
    await withPage(async ({ page }) => {
      await fillForm(page, { steps: 100, stepMs: 100 });
      const [id] = await startJobs(page);
      await until(page, 'the job running', (all) => all[0]?.state === 'active' && (all[0]?.value ?? 0) > 0);
      await page.focus(`li[data-job-id="${id}"] button.cancel`);
      await page.keyboard.press('Enter');
      const [cancelled] = await until(page, 'the job cancelled', (all) => all[0]?.state === 'cancelled');
      expect(cancelled).toMatchObject({ badge: 'Cancelled', cancelDisabled: true });
      expect(cancelled?.value).toBeLessThan(100);
      expect(cancelled?.message).toMatch(/^Cancelled at step \d+ of 100$/);
      // Not dropped to the page's start when the button went disabled.
      const focused = await page.evaluate(() => {
        const at = document.activeElement;
        return { tag: at?.tagName ?? '', job: at?.closest('li')?.dataset.jobId ?? '' };
      });
      expect(focused).toEqual({ tag: 'SUMMARY', job: id });
      const job = (await (await fetch(`${h.url}/jobs/${id}`)).json()) as { state: string };
      expect(job.state).toBe('cancelled');
    });
  });

  it('recovers by itself when the API is killed and restarted mid-run', async () => {
    // While the API is down the browser logs each refused connection; nothing else may appear.
    await withPage(
      async ({ page, streams }) => {
        // Every change of the connection indicator, recorded inside the page.
        await page.evaluate(() => {
          const indicator = document.getElementById('connection') as HTMLElement;
          const seen: string[] = [];
          (window as unknown as { connectionLog: string[] }).connectionLog = seen;
          new MutationObserver(() => seen.push(indicator.dataset.connection ?? '')).observe(indicator, {
            attributes: true,
            attributeFilter: ['data-connection'],
          });
        });
        // Long enough to outlast the restart: they complete on the new API.
        await fillForm(page, { steps: 20, stepMs: 200 });
        const ids = await startJobs(page, 3);
        await until(page, 'the jobs running', (all) => all.every((r) => r.state === 'active' && r.value >= 10));
        expect(await connection(page)).toBe('live');

        const port = h.api.port;
        await h.api.close();
        await expect.poll(() => connection(page), { timeout: 5_000 }).toBe('reconnecting');
        // Nothing is heard: no row counts its time left down as if the job went on.
        const down = await until(page, 'the rows to say they reconnect', (all) =>
          all.every((r) => r.timing === 'reconnecting…'),
        );
        for (const r of down) expect(r.spoken, r.id).not.toMatch(/left/);
        // The page tries again while nothing listens (refused), and keeps trying.
        const sentWhileDown = streams.urls.length;
        await waitFor(() => streams.urls.length > sentWhileDown, 'a stream request refused while the API is down');
        h.api = await startApi({ ...h.config, PORT: port }, h.redisUrl, createLogger(h.config.LOG_LEVEL));

        const done = await until(page, 'the jobs completed after the restart', (all) =>
          all.every((r) => r.state === 'completed'),
        );
        expect(done.map((r) => r.id)).toEqual(ids);
        for (const r of done) expect(r).toMatchObject({ value: 100, percent: '100%' });
        const log = await page.evaluate(() => (window as unknown as { connectionLog: string[] }).connectionLog);
        const dropped = log.indexOf('reconnecting');
        expect(dropped, log.join(' → ')).toBeGreaterThanOrEqual(0);
        expect(log.indexOf('live', dropped), log.join(' → ')).toBeGreaterThan(dropped);
        await expect.poll(() => connection(page), { timeout: 5_000 }).toBe('idle');
      },
      { expectedError: isConnectionRefused },
    );
  });

  it('brings its jobs back after a reload, drops the ones that expired, and resumes the rest', async () => {
    let expired = '';
    await withPage(
      async (t) => {
        const { page } = t;
        await fillForm(page, { steps: 1, stepMs: 0 });
        [expired] = (await startJobs(page)) as [string];
        await fillForm(page, { steps: 2, stepMs: 50 });
        const [finished] = await startJobs(page);
        await until(page, 'two jobs completed', (all) => all.every((r) => r.state === 'completed'));
        await fillForm(page, { steps: 20, stepMs: 100 });
        const [running] = await startJobs(page);
        const before = await until(page, 'the third job running', (all) => (all[0]?.value ?? 0) >= 10);

        // The first job's record expires (retention) while the page is away.
        expect(await t.streams.maxOpen()).toBe(1);
        const keys = jobKeys(h.config.KEY_PREFIX, expired);
        await h.redis.del(keys.record, keys.log);
        await page.reload();

        const back = await until(page, 'the expired job dropped', (all) => all.length === 2);
        expect(back.map((r) => r.id)).toEqual([running, finished]);
        expect(back[1]).toMatchObject({ state: 'completed', value: 100, badge: 'Completed' });
        // The running job continues from where it was, not from zero.
        expect(back[0]?.value).toBeGreaterThanOrEqual(before[0]?.value ?? 0);
        await until(page, 'the resumed job completed', (all) => all[0]?.state === 'completed');
        expect(await page.textContent('#summary')).toBe('2 completed');
      },
      {
        // Looking up the expired job is a 404, which Chromium logs; that one is expected.
        expectedError: (message) =>
          message.text().includes('status of 404') && message.location().url.endsWith(`/jobs/${expired}`),
      },
    );
  });

  it('shows jobs in every finished state and some still running (the README screenshot)', async () => {
    await withPage(
      async ({ page }) => {
        await fillForm(page, { steps: 100, stepMs: 50 });
        const [toCancel] = await startJobs(page);
        await fillForm(page, { steps: 5, stepMs: 60 });
        await startJobs(page);
        await fillForm(page, { steps: 8, stepMs: 60, failAtStep: 6 });
        await startJobs(page);
        await fillForm(page, { steps: 100, stepMs: 60 });
        await startJobs(page);
        await until(page, 'the first job running', (all) => (all.at(-1)?.value ?? 0) >= 20);
        await page.click(`li[data-job-id="${toCancel}"] button.cancel`);
        // Started later, so the two running bars stand at different places.
        await startJobs(page);
        await until(
          page,
          'one job of each finished state, and two running',
          (all) =>
            ['completed', 'failed', 'cancelled'].every((state) => all.some((r) => r.state === state)) &&
            (all[1]?.value ?? 0) >= 35 &&
            (all[0]?.value ?? 0) >= 15,
        );
        // As a visitor first sees it: the form at its defaults, nothing focused, scrolled to the top.
        await fillForm(page, { steps: 10, stepMs: 200 });
        await page.evaluate(() => {
          (document.activeElement as HTMLElement | null)?.blur();
          window.scrollTo(0, 0);
        });
        await page.mouse.move(0, 0);
        // Taken either way (the page renders to an image), written only when asked.
        if (WRITE_SCREENSHOT) mkdirSync(dirname(SCREENSHOT), { recursive: true });
        const image = await page.screenshot({
          ...(WRITE_SCREENSHOT ? { path: SCREENSHOT } : {}),
          fullPage: true,
          animations: 'disabled',
        });
        expect(image.subarray(1, 4).toString()).toBe('PNG');

        // Leave nothing running for the next test (409s for jobs that already finished are fine).
        for (const r of await rows(page)) await fetch(`${h.url}/jobs/${r.id}/cancel`, { method: 'POST' });
        await until(page, 'the rest cancelled', (all) => all.every((r) => r.cancelDisabled));
      },
      { viewport: { width: 1200, height: 800 } },
    );
  }, 60_000);
});
