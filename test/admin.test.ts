/**
 * The operator view (bull-board at /admin/queues): it lists every job, so it is served only
 * with ADMIN_PASSWORD (HTTP Basic auth), whether or not API keys are on — in an open service
 * a job id is a capability, and a page that lists them all must not be open too.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DOCUMENT_HEADERS } from '../src/security-headers.js';
import { type Harness, startHarness } from './support/harness/harness.js';

const harnesses: Harness[] = [];
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.close()));
});
async function harness(env: Record<string, string>): Promise<Harness> {
  const h = await startHarness({ env, worker: false });
  harnesses.push(h);
  return h;
}
const basic = (password: string) => `Basic ${Buffer.from(`ops:${password}`).toString('base64')}`;

describe('/admin/queues', () => {
  it('is off (404) while the service runs open without ADMIN_PASSWORD: nothing lists the job ids', async () => {
    const h = await harness({});
    await h.submit({ type: 'simulate', data: { steps: 1 } });
    for (const path of ['/admin/queues', '/admin/queues/', '/admin/queues/api/queues', '//admin/queues/api/queues']) {
      const res = await fetch(`${h.url}${path}`);
      expect(res.status, path).toBe(404);
      expect(await res.text(), path).not.toContain(h.config.QUEUE_NAME);
    }
  });

  it('asks an open service for ADMIN_PASSWORD too, and then lists the queue', async () => {
    const h = await harness({ ADMIN_PASSWORD: 'correct horse battery' });
    expect((await fetch(`${h.url}/admin/queues/api/queues`)).status).toBe(401);
    const page = await fetch(`${h.url}/admin/queues`, { headers: { authorization: basic('correct horse battery') } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
    // An HTML page: it carries the document headers (decision 023), the board's JSON does not.
    for (const [name, value] of Object.entries(DOCUMENT_HEADERS)) expect(page.headers.get(name), name).toBe(value);
    const api = await fetch(`${h.url}/admin/queues/api/queues`, {
      headers: { authorization: basic('correct horse battery') },
    });
    expect(api.status).toBe(200);
    expect(api.headers.get('x-xss-protection')).toBeNull();
    expect(JSON.stringify(await api.json())).toContain(h.config.QUEUE_NAME);
  });

  it('is off (404) with API keys and no ADMIN_PASSWORD', async () => {
    const h = await harness({ API_KEYS: 'some-api-key-1234' });
    for (const path of ['/admin/queues', '/admin/queues/api/queues']) {
      const res = await fetch(`${h.url}${path}`, { headers: { authorization: 'Bearer some-api-key-1234' } });
      expect(res.status, path).toBe(404);
    }
  });

  it('asks for ADMIN_PASSWORD over Basic auth when it is set', async () => {
    const h = await harness({ API_KEYS: 'some-api-key-1234', ADMIN_PASSWORD: 'correct horse battery' });
    const none = await fetch(`${h.url}/admin/queues/api/queues`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic /);
    expect(
      (await fetch(`${h.url}/admin/queues`, { headers: { authorization: basic('wrong password!') } })).status,
    ).toBe(401);
    const ok = await fetch(`${h.url}/admin/queues/api/queues`, {
      headers: { authorization: basic('correct horse battery') },
    });
    expect(ok.status).toBe(200);
  });

  it('takes its actions only from its own pages: a request another site makes a browser send is refused', async () => {
    const h = await harness({ ADMIN_PASSWORD: 'correct horse battery' });
    const auth = { authorization: basic('correct horse battery') };
    const paused = async () => {
      const res = await fetch(`${h.url}/admin/queues/api/queues`, { headers: auth });
      return ((await res.json()) as { queues: { isPaused: boolean }[] }).queues[0]?.isPaused;
    };
    const pause = (action: 'pause' | 'resume', headers: Record<string, string>) =>
      fetch(`${h.url}/admin/queues/api/queues/jobs/${action}`, { method: 'PUT', headers: { ...auth, ...headers } });
    expect(await paused()).toBe(false);
    for (const headers of <Record<string, string>[]>[
      { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
      { 'sec-fetch-site': 'same-site', origin: 'https://sibling.example' },
      { origin: 'https://evil.example' },
      { origin: 'null' },
    ]) {
      const res = await pause('pause', headers);
      expect(res.status, JSON.stringify(headers)).toBe(400);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(((await res.json()) as { detail: string }).detail).toMatch(/another site/);
    }
    expect(await paused()).toBe(false);
    // Its own page's requests, and those of a script (no browser headers), go through.
    expect((await pause('pause', { 'sec-fetch-site': 'same-origin', origin: h.url })).status).toBe(200);
    expect(await paused()).toBe(true);
    expect((await pause('resume', {})).status).toBe(200);
    expect(await paused()).toBe(false);
  });

  it("refuses what would run a job behind jobcast's record: add, retry, edit its data", async () => {
    const h = await harness({ ADMIN_PASSWORD: 'correct horse battery' });
    const headers = { authorization: basic('correct horse battery'), 'content-type': 'application/json' };
    const job = await h.submit({ type: 'simulate', data: { steps: 1 } });
    const base = `${h.url}/admin/queues/api/queues/jobs`;
    for (const [method, path, body] of [
      ['POST', '/add', { name: 'simulate', data: { steps: 1 }, options: {} }],
      ['PUT', '/retry/failed', undefined],
      ['PUT', '/retry/completed', undefined],
      ['PUT', `/${job.id}/retry`, undefined],
      ['PATCH', `/${job.id}/update-data`, { data: { steps: 1000 } }],
    ] as const) {
      const res = await fetch(`${base}${path}`, { method, headers, body: body && JSON.stringify(body) });
      expect(res.status, `${method} ${path}`).toBe(400);
      expect(((await res.json()) as { detail: string }).detail).toMatch(/behind jobcast's record/);
    }
    const counts = await fetch(`${h.url}/admin/queues/api/queues`, { headers });
    const [queue] = ((await counts.json()) as { queues: { counts: Record<string, number> }[] }).queues;
    // The one job submitted through the API, and nothing added beside it.
    expect(Object.values(queue?.counts ?? {}).reduce((a, b) => a + b, 0)).toBe(1);
  });
});
