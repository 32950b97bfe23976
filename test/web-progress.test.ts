/**
 * What progress tells beyond the percentage, on the page at `/` in a real headless Chromium,
 * against real workers and Redis (README, "What progress tells beyond the percentage"):
 * - with an API key, the feed view lists every job of the key live — one submitted by another
 *   client (fetch, as curl would) appears as it is created and runs to the end there; another
 *   key's job never does; a tag filter narrows it;
 * - with one worker and several jobs waiting, a queued job's bar counts its place in the queue
 *   down (and says when it is expected to start), and a running job's bar shows the time left;
 * - a running job that goes quiet shows the stall note (and its details), gone at its next
 *   report; a service without keys offers no feed view, and says why.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webAssets } from '../src/web/assets.js';
import { type Harness, waitFor } from './support/harness/harness.js';
import { type ScriptedHarness, startScriptedHarness } from './support/harness/scripted.js';
import { bearer, KEY_A, KEY_B, startKeyedHarness } from './support/http/security.js';
import { openPage, type PageUnderTest, sharedChromium } from './support/page/browser.js';

let browser: Browser;
beforeAll(async () => {
  // The page is bundled from source on its first request: bundled meanwhile instead.
  [browser] = await Promise.all([sharedChromium(), webAssets()]);
});

async function withPage(url: string, run: (t: PageUnderTest) => Promise<void>): Promise<void> {
  const t = await openPage(browser, url);
  try {
    await run(t);
    expect(t.errors).toEqual([]);
    expect(t.foreignRequests).toEqual([]);
  } finally {
    await t.close();
  }
}

/** A row's parts, as a person sees them (`list`: `#job-list` or `#feed-list`). */
const row = (page: Page, list: string, id: string) =>
  page.$eval(
    list,
    (ol, id) => {
      const li = ol.querySelector(`li[data-job-id="${id}"]`) as HTMLElement | null;
      if (!li) return undefined;
      const part = (selector: string) => li.querySelector(selector) as HTMLElement | null;
      return {
        state: li.dataset.state ?? '',
        params: part('.job-params')?.textContent ?? '',
        percent: part('.percent')?.textContent ?? '',
        badge: part('.badge')?.textContent ?? '',
        message: part('.message')?.textContent ?? '',
        eta: part('.eta')?.hidden ? '' : (part('.eta')?.textContent ?? ''),
        stall: part('.stall')?.hidden ? '' : (part('.stall')?.textContent ?? ''),
        details: part('.details')?.hidden ? '' : (part('.details')?.textContent ?? ''),
        stalledClass: part('.jobcast-job')?.classList.contains('stalled') ?? false,
        valuetext: part('progress')?.getAttribute('aria-valuetext') ?? '',
      };
    },
    id,
  );

/** Waits until the row of `id` satisfies `check`; returns it. A timeout's error shows the row. */
async function untilRow(page: Page, list: string, id: string, what: string, check: (r: Row) => boolean, ms = 15_000) {
  let last: Row | undefined;
  try {
    await waitFor(
      async () => {
        last = await row(page, list, id);
        return last !== undefined && check(last);
      },
      what,
      ms,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; row: ${JSON.stringify(last)}`);
  }
  return last as Row;
}
type Row = NonNullable<Awaited<ReturnType<typeof row>>>;

describe('with API keys and one worker', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startKeyedHarness({ WORKER_CONCURRENCY: '1', PROGRESS_TICK_MS: '200', SSE_RETRY_MS: '200' });
  });
  afterAll(async () => {
    await h?.close();
  });

  async function submit(key: string, data: object, tags?: string[]): Promise<string> {
    const res = await fetch(`${h.url}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(key) },
      body: JSON.stringify({ type: 'simulate', data, ...(tags ? { tags } : {}) }),
    });
    expect(res.status).toBe(202);
    return ((await res.json()) as { id: string }).id;
  }

  async function untilFinished(id: string, key = KEY_A): Promise<void> {
    await waitFor(async () => {
      const res = await fetch(`${h.url}/jobs/${id}`, { headers: bearer(key) });
      return ['completed', 'failed', 'cancelled'].includes(((await res.json()) as { state: string }).state);
    }, `job ${id} finished`);
  }

  async function signIn(page: Page): Promise<void> {
    await page.locator('#sign-in').waitFor({ state: 'visible' });
    await page.getByLabel('API key', { exact: true }).fill(KEY_A);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#launcher').waitFor({ state: 'visible' });
  }

  const feedStatus = (page: Page) => page.getAttribute('#feed-status', 'data-connection');

  it("the feed view shows the key's jobs submitted elsewhere as they are created, never another key's; a tag filters it", async () => {
    await withPage(h.url, async ({ page }) => {
      await signIn(page);
      expect(await page.isVisible('#view-tabs')).toBe(true);
      expect(await page.isHidden('#feed-off')).toBe(true);
      expect(await page.isHidden('#feed-view')).toBe(true);
      // Not followed while it is not shown.
      expect(await feedStatus(page)).toBe('idle');
      await page.getByRole('tab', { name: /Feed/ }).click();
      expect(await page.getAttribute('#tab-feed', 'aria-selected')).toBe('true');
      expect(await page.isHidden('#page-view')).toBe(true);
      await expect.poll(() => feedStatus(page), { timeout: 10_000 }).toBe('live');
      expect(await page.textContent('#feed-example')).toContain(`${h.url}/jobs`);

      const other = await submit(KEY_B, { steps: 1, stepMs: 0 }, ['from-curl']);
      const first = await submit(KEY_A, { steps: 4, stepMs: 150 }, ['from-curl']);
      const appeared = await untilRow(page, '#feed-list', first, 'the job submitted elsewhere listed', () => true);
      expect(appeared.params).toContain('simulate');
      expect(appeared.params).toContain('from-curl');
      const done = await untilRow(page, '#feed-list', first, 'it completed', (r) => r.state === 'completed');
      expect(done).toMatchObject({ percent: '100%', badge: 'Completed' });
      const untagged = await submit(KEY_A, { steps: 1, stepMs: 0 });
      await untilRow(page, '#feed-list', untagged, 'the second job listed', (r) => r.state === 'completed');
      // Submitted before the second one, and finished: another key's job never shows.
      await untilFinished(other, KEY_B);
      expect(await row(page, '#feed-list', other)).toBeUndefined();
      expect(await page.textContent('#feed-summary')).toBe('2 completed');

      // A tag: the jobs with it (listed at once), then new ones with it; not the others.
      await page.fill('#feed-tag', 'from-curl');
      await page.press('#feed-tag', 'Enter');
      await untilRow(page, '#feed-list', first, 'the tagged job listed again', () => true);
      expect(await row(page, '#feed-list', untagged)).toBeUndefined();
      await expect.poll(() => feedStatus(page), { timeout: 10_000 }).toBe('live');
      const third = await submit(KEY_A, { steps: 1, stepMs: 0 }, ['from-curl']);
      const fourth = await submit(KEY_A, { steps: 1, stepMs: 0 });
      await untilRow(page, '#feed-list', third, 'a new tagged job listed', (r) => r.state === 'completed');
      await untilFinished(fourth);
      expect(await row(page, '#feed-list', fourth)).toBeUndefined();
      expect(await row(page, '#feed-list', other)).toBeUndefined();

      // Back to the jobs started here: the feed is let go of.
      await page.getByRole('tab', { name: 'Started here' }).click();
      await expect.poll(() => feedStatus(page)).toBe('idle');
    });
  });

  it("a queued job's bar counts its place in the queue down and says when it starts; a running one shows the time left", async () => {
    // A run of this type first: the expected start comes from recent run times.
    await untilFinished(await submit(KEY_A, { steps: 2, stepMs: 100 }));
    await withPage(h.url, async ({ page }) => {
      await signIn(page);
      // Every text the jobs' `.eta` showed, recorded in the page so that none is missed.
      await page.evaluate(() => {
        const seen: Record<string, string[]> = {};
        (window as unknown as { etaLog: typeof seen }).etaLog = seen;
        const list = document.getElementById('job-list') as HTMLElement;
        new MutationObserver(() => {
          for (const eta of Array.from(list.querySelectorAll<HTMLElement>('.jobcast-job .eta'))) {
            const id = (eta.closest('.jobcast-job') as HTMLElement).dataset.jobId as string;
            seen[id] ??= [];
            const log = seen[id];
            if (!eta.hidden && eta.textContent && log.at(-1) !== eta.textContent) log.push(eta.textContent);
          }
        }).observe(list, { subtree: true, childList: true, characterData: true, attributes: true });
      });
      const started = async () =>
        page.$$eval('#job-list > li', (items) => items.map((li) => (li as HTMLElement).dataset.jobId as string));
      // Running for 3 s: its time left counts down by the second while the others queue behind it.
      await page.fill('#steps', '10');
      await page.fill('#step-ms', '300');
      await page.click('#start');
      await waitFor(async () => (await started()).length === 1, 'the first job listed');
      await page.fill('#steps', '2');
      await page.fill('#step-ms', '250');
      await page.click('#start');
      for (let i = 1; i < 4; i++) await page.keyboard.press('Enter');
      await waitFor(async () => (await started()).length === 5, 'five jobs listed');
      const [last, , , , running] = (await started()) as [string, string, string, string, string];

      await untilRow(page, '#job-list', last, 'the last job completed', (r) => r.state === 'completed', 30_000);
      const log = (await page.evaluate('window.etaLog')) as Record<string, string[]>;
      // The running job: the time left, counted down.
      const left = (log[running] ?? []).filter((text) => /^about \d+ (s|min) left$/.test(text));
      expect(left.length, JSON.stringify(log)).toBeGreaterThanOrEqual(2);
      const places = (log[last] ?? [])
        .map((text) => /^(?:next|(\d+)(?:st|nd|rd|th)) in the queue/.exec(text))
        .filter((match) => match !== null)
        .map((match) => Number(match[1] ?? 1));
      const distinct = places.filter((p, i) => p !== places[i - 1]);
      // 4th (or 3rd, if the first had started when it was listed) … down to next.
      expect(distinct.length, JSON.stringify(log[last])).toBeGreaterThanOrEqual(3);
      expect(distinct, JSON.stringify(log[last])).toEqual([...distinct].sort((a, b) => b - a));
      expect(distinct.at(-1)).toBe(1);
      expect(distinct[0]).toBeGreaterThanOrEqual(3);
      expect(
        log[last]?.some((text) => / · starts (in ~\d+ (s|min)|soon)$/.test(text)),
        JSON.stringify(log[last]),
      ).toBe(true);
      // And once it ran, nothing about a queue.
      expect((await row(page, '#job-list', last))?.eta).toBe('');
    });
  });
});

describe('without API keys, a job that goes quiet', () => {
  let s: ScriptedHarness;
  beforeAll(async () => {
    s = await startScriptedHarness({ STALL_AFTER_MS: '1000', PROGRESS_TICK_MS: '100' });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('shows the stall note and its details while quiet, and drops the note at its next report; no feed view', async () => {
    const quiet = s.scripts.gate();
    const finish = s.scripts.gate();
    const id = await s.scripts.submit(s.h.url, async (ctx) => {
      await ctx.progress(20, 'working', { files: 3, phase: 'upload' });
      await quiet.wait(ctx.signal);
      await ctx.progress(60, 'awake');
      await finish.wait(ctx.signal);
    });
    await withPage(s.h.url, async ({ context, page }) => {
      // The page's list as a visit would leave it: this job, started elsewhere by its id. Set
      // before the page's own script runs (leaving the page saves the list it had).
      await context.addInitScript(
        ([id, createdAt]) =>
          localStorage.setItem(
            'jobcast.page.jobs.v1',
            JSON.stringify([{ id, state: 'queued', progress: 0, cursor: 0, label: 'scripted', createdAt }]),
          ),
        [id, new Date().toISOString()],
      );
      await page.reload();
      expect(await page.isHidden('#view-tabs')).toBe(true);
      expect(await page.textContent('#feed-off')).toMatch(/No feed view: this jobcast runs without API keys/);
      expect(await page.isVisible('#feed-off')).toBe(true);

      const stalled = await untilRow(page, '#job-list', id, 'the stall shown', (r) => r.stall !== '', 10_000);
      expect(stalled).toMatchObject({ badge: 'Stalled', stalledClass: true, percent: '20%', state: 'active' });
      expect(stalled.stall).toMatch(/^no report for \d+ s$/);
      expect(stalled.valuetext).toMatch(/^20% — Stalled — no report for \d+ s$/);
      expect(stalled.details).toBe('files: 3 · phase: upload');
      // The badge is the live region that says it, once.
      expect(await page.getAttribute(`li[data-job-id="${id}"] .badge`, 'role')).toBe('status');
      // The silence is counted on.
      const first = Number(/\d+/.exec(stalled.stall)?.[0]);
      await untilRow(page, '#job-list', id, 'the silence counted', (r) => Number(/\d+/.exec(r.stall)?.[0]) > first);

      quiet.open();
      const awake = await untilRow(page, '#job-list', id, 'the next report', (r) => r.percent === '60%');
      expect(awake).toMatchObject({ stall: '', badge: 'Running', stalledClass: false, message: 'awake' });
      // Details are kept until the handler reports others.
      expect(awake.details).toBe('files: 3 · phase: upload');
      finish.open();
      await untilRow(page, '#job-list', id, 'completed', (r) => r.state === 'completed');
    });
  });
});
