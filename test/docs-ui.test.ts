/**
 * `/docs` in a real browser (headless Chromium): "Try it out" → "Execute" with the prefilled
 * defaults submits a job that runs to `completed`, for `POST /jobs` and `POST /jobs/batch`;
 * the problem types are linked from it, and their pages render under the service's strict
 * Content-Security-Policy with their own stylesheet.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAGE_CSP } from '../src/routes/web.js';
import { type Harness, startHarness, waitFor } from './support/harness/harness.js';
import { openPage, type PageUnderTest, sharedChromium } from './support/page/browser.js';

type Json = Record<string, unknown>;

/**
 * Opens an operation of Swagger UI, clicks "Try it out" then "Execute" with what it
 * prefilled, and returns the status and body it shows.
 */
async function tryItOut(page: Page, operation: string): Promise<{ sent: string; status: number; body: Json }> {
  const block = page.locator(`#operations-jobs-${operation}`);
  await block.locator('.opblock-summary').first().click();
  // The page opens in try-it-out mode (`tryItOutEnabled`); the button then reads "Cancel".
  const tryOut = block.locator('button.try-out__btn');
  if ((await tryOut.textContent())?.trim() === 'Try it out') await tryOut.click();
  const sent = await block.locator('textarea.body-param__text').inputValue();
  await block.locator('button.execute').click();
  const response = block.locator('.live-responses-table .response');
  await response.locator('.response-col_status').first().waitFor();
  const status = Number((await response.locator('.response-col_status').first().textContent())?.trim());
  const body = JSON.parse((await response.locator('.response-col_description pre').first().textContent()) ?? '');
  return { sent, status, body };
}

describe('/docs in Chromium', () => {
  let h: Harness;
  let browser: Browser;
  let docs: PageUnderTest;

  beforeAll(async () => {
    [h, browser] = await Promise.all([startHarness(), sharedChromium()]);
    docs = await openPage(browser, `${h.url}/docs`);
    await docs.page.locator('#operations-jobs-submitJob').waitFor();
  }, 60_000);

  afterAll(async () => {
    await docs?.close();
    await h?.close();
  });

  const completed = (id: string) =>
    waitFor(
      async () => ((await (await fetch(`${h.url}/jobs/${id}`)).json()) as Json).state === 'completed',
      `job ${id} completed`,
      20_000,
    );

  it('POST /jobs: Try it out → Execute with the defaults → 202, and the job runs to completed', async () => {
    const { sent, status, body } = await tryItOut(docs.page, 'submitJob');
    const job = JSON.parse(sent) as Json;
    expect(job.type).toBe('simulate');
    expect(JSON.stringify(job)).not.toContain('failAtStep');
    expect(status, JSON.stringify(body)).toBe(202);
    expect(body).toMatchObject({ state: 'queued', progress: 0, attempts: 0 });
    await completed(body.id as string);
  });

  it('POST /jobs/batch: Try it out → Execute with the defaults → 202, and every job runs to completed', async () => {
    const { sent, status, body } = await tryItOut(docs.page, 'submitJobBatch');
    const batch = JSON.parse(sent) as { jobs: Json[] };
    expect(batch.jobs.length).toBeGreaterThan(1);
    expect(JSON.stringify(batch)).not.toContain('failAtStep');
    expect(status, JSON.stringify(body)).toBe(202);
    const items = body.items as Json[];
    expect(items).toHaveLength(batch.jobs.length);
    await Promise.all(items.map((item) => completed(item.id as string)));
  });

  it('links the problem types; their pages render under the strict CSP, styled, with nothing blocked', async () => {
    const link = docs.page.locator('a[href="/problems"]').first();
    await link.waitFor();
    const index = await openPage(browser, `${h.url}/problems`);
    try {
      const response = await index.page.reload();
      expect(response?.headers()['content-security-policy']).toBe(PAGE_CSP);
      await index.page.locator('a[href="/problems/job-not-found"]').click();
      await index.page.waitForURL(/\/problems\/job-not-found$/);
      const page = index.page;
      expect(await page.locator('h1').textContent()).toBe('Job not found');
      const text = (await page.locator('main').textContent()) ?? '';
      expect(text).toContain('HTTP 404');
      expect(text).toContain('When it happens');
      expect(text).toContain('What to do');
      // The stylesheet applied (CSP: style-src 'self'): main is a centred column.
      expect(await page.locator('main').evaluate((el) => getComputedStyle(el).maxWidth)).toBe('704px');
      expect(index.errors).toEqual([]);
      expect(index.foreignRequests).toEqual([]);
    } finally {
      await index.close();
    }
    expect(docs.errors).toEqual([]);
    expect(docs.foreignRequests).toEqual([]);
  });
});
