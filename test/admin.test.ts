/**
 * The operator view (bull-board at /admin/queues): open with the service, guarded by
 * ADMIN_PASSWORD, and off when API keys are on without one.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './support/harness.js';

const harnesses: Harness[] = [];
afterAll(async () => {
  await Promise.all(harnesses.map((h) => h.close()));
});
async function harness(env: Record<string, string>): Promise<Harness> {
  const h = await startHarness({ env, worker: false });
  harnesses.push(h);
  return h;
}
const basic = (password: string) => `Basic ${Buffer.from(`ops:${password}`).toString('base64')}`;

describe('/admin/queues', () => {
  it('is served while the service runs open, and lists the queue', async () => {
    const h = await harness({});
    const page = await fetch(`${h.url}/admin/queues`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
    const api = await fetch(`${h.url}/admin/queues/api/queues`);
    expect(api.status).toBe(200);
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
});
