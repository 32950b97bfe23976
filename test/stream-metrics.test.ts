/**
 * The event streams' counters on /metrics: `jobcast_stream_requests_total` by outcome (a fresh
 * stream, a resumed one, 204 after `done`, 404) and `jobcast_events_sent_total` by event type.
 * Both are counted in plain numbers and handed to prom-client when scraped, so what a scrape
 * shows must be exactly what happened, and a scrape must not count anything twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './support/harness/harness.js';
import { send } from './support/http/security.js';
import { watch } from './support/sse/sse.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

/** Every sample of `name` on /metrics, by its one label's value (absent: not shown). */
async function samples(name: string): Promise<Record<string, number>> {
  const { text } = await send(h.url, 'GET', '/metrics');
  const found: Record<string, number> = {};
  for (const match of text.matchAll(new RegExp(`^${name}\\{\\w+="(\\w+)"\\} (\\d+)$`, 'gm'))) {
    found[match[1] as string] = Number(match[2]);
  }
  return found;
}

describe('stream counters', () => {
  it('count each stream request by outcome, and each event written by type, the same on every scrape', async () => {
    expect(await samples('jobcast_stream_requests_total')).toEqual({});
    const job = await h.submit({ type: 'simulate', data: { steps: 2, stepMs: 1 } });
    const events = await watch(`${h.url}/jobs/${job.id}/events`, { until: (e) => e.type === 'done' });
    const last = events.at(-1);
    // After done: 204; with an id before done: a resumed stream; an unknown job: 404.
    expect(
      (await send(h.url, 'GET', `/jobs/${job.id}/events`, { headers: { 'last-event-id': last?.id ?? '' } })).status,
    ).toBe(204);
    const resumed = await watch(`${h.url}/jobs/${job.id}/events`, {
      headers: { 'last-event-id': '1' },
      until: (e) => e.type === 'done',
    });
    expect((await send(h.url, 'GET', `/jobs/${crypto.randomUUID()}/events`)).status).toBe(404);

    const requests = { fresh: 1, resumed: 1, finished: 1, not_found: 1 };
    expect(await samples('jobcast_stream_requests_total')).toEqual(requests);
    const sent: Record<string, number> = {};
    for (const e of [...events, ...resumed]) sent[e.type] = (sent[e.type] ?? 0) + 1;
    expect(await samples('jobcast_events_sent_total')).toEqual(sent);
    // A second scrape shows the same counts: collecting counts nothing again.
    expect(await samples('jobcast_stream_requests_total')).toEqual(requests);
    expect(await samples('jobcast_events_sent_total')).toEqual(sent);
  });
});
