/**
 * Who the client is, and limits that count each one: the socket's peer, or behind trusted
 * proxies (`TRUST_PROXY`) the address they forwarded — never an address a client merely
 * claims. Distinct clients are real distinct source addresses here (127.0.0.2, 127.0.0.3…, via
 * `localAddress`) or forwarded headers through a trusted proxy. A stream token's holders are
 * counted one by one (per address), not against the key that issued the token.
 */
import { Agent } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { ClientAddresses, limitKey } from '../src/client-address.js';
import { ConfigError, parseConfig } from '../src/config.js';
import { type RunningApi, startApi } from '../src/server.js';
import { type Harness, startHarness, waitFor } from './support/harness/harness.js';
import { recordingLogger } from './support/harness/recording-logger.js';
import {
  awayFromMinuteBoundary,
  bearer,
  KEY_A,
  type Reply,
  send,
  startKeyedHarness,
  submitAs,
} from './support/http/security.js';
import { openStream, type RawStream } from './support/sse/raw-sse.js';

const harnesses: Harness[] = [];
const apis: RunningApi[] = [];
const streams: RawStream[] = [];
// Each test starts its own services: closed after it, so the leak check sees nothing left.
afterEach(async () => {
  for (const stream of streams.splice(0)) stream.close();
  await Promise.all([...apis.splice(0).map((api) => api.close()), ...harnesses.splice(0).map((h) => h.close())]);
});
async function harness(env: Record<string, string>, keyed = false): Promise<Harness> {
  const h = keyed ? await startKeyedHarness(env, { worker: false }) : await startHarness({ env, worker: false });
  harnesses.push(h);
  return h;
}

const xff = (chain: string) => ({ 'x-forwarded-for': chain });
const post = (h: Harness, options: { headers?: Record<string, string>; localAddress?: string } = {}) =>
  send(h.url, 'POST', '/jobs', { ...options, body: { type: 'simulate', data: { steps: 1 } } });

function expect429(res: Reply, type: string): void {
  expect(res.status, res.text).toBe(429);
  expect(res.json).toMatchObject({ type: `/problems/${type}` });
  expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
}

describe('ClientAddresses.resolve', () => {
  it('without TRUST_PROXY: the socket peer, whatever the headers say', () => {
    const none = new ClientAddresses(undefined);
    expect(none.header).toBeUndefined();
    expect(none.resolve('10.0.0.5', '203.0.113.7')).toBe('10.0.0.5');
    expect(none.resolve('::ffff:10.0.0.5', undefined)).toBe('10.0.0.5');
    expect(none.resolve(undefined, undefined)).toBe('unknown');
  });

  it('TRUST_PROXY=<hops>: takes the entry that many hops in, never one further left', () => {
    const one = new ClientAddresses({ hops: 1 });
    expect(one.resolve('10.0.0.5', '203.0.113.7')).toBe('203.0.113.7');
    // A client's own X-Forwarded-For is what the proxy appends to: the proxy's entry is last.
    expect(one.resolve('10.0.0.5', '6.6.6.6, 203.0.113.7')).toBe('203.0.113.7');
    expect(one.resolve('10.0.0.5', undefined)).toBe('10.0.0.5');
    const two = new ClientAddresses({ hops: 2 });
    expect(two.resolve('10.0.0.5', '6.6.6.6, 203.0.113.7, 10.0.0.9')).toBe('203.0.113.7');
    // Fewer entries than hops: the furthest one there is.
    expect(two.resolve('10.0.0.5', '203.0.113.7')).toBe('203.0.113.7');
  });

  it('TRUST_PROXY=<addresses>: walks back over trusted proxies only', () => {
    const trust = new ClientAddresses({ ranges: ['10.0.0.0/8', '192.0.2.1', '2001:db8::/32'] });
    expect(trust.resolve('10.1.2.3', '203.0.113.7')).toBe('203.0.113.7');
    expect(trust.resolve('10.1.2.3', '6.6.6.6, 203.0.113.7, 192.0.2.1')).toBe('203.0.113.7');
    // A peer that is not a trusted proxy is the client, whatever it forwards.
    expect(trust.resolve('198.51.100.1', '203.0.113.7')).toBe('198.51.100.1');
    expect(trust.resolve('2001:db8::1', '[2001:db8:ffff::9]:443, 203.0.113.7:5050')).toBe('203.0.113.7');
    expect(trust.resolve('::ffff:10.0.0.1', '203.0.113.7')).toBe('203.0.113.7');
  });

  it('stops at the trusted hop before an entry that is not an address', () => {
    const one = new ClientAddresses({ hops: 2 });
    expect(one.resolve('10.0.0.5', 'unknown, 10.0.0.6')).toBe('10.0.0.6');
    expect(one.resolve('10.0.0.5', 'garbage')).toBe('10.0.0.5');
    expect(one.resolve('10.0.0.5', '')).toBe('10.0.0.5');
  });

  it('reads RFC 7239 Forwarded when told to: for= values, quoted and bracketed', () => {
    const fwd = new ClientAddresses({ hops: 1 }, 'forwarded');
    expect(fwd.header).toBe('forwarded');
    expect(fwd.resolve('10.0.0.5', 'for=6.6.6.6, for="[2001:db8::7]:4711";proto=https')).toBe('2001:db8::7');
    expect(fwd.resolve('10.0.0.5', 'for=192.0.2.60;proto=http;by=203.0.113.43')).toBe('192.0.2.60');
    expect(fwd.resolve('10.0.0.5', 'for=_hidden')).toBe('10.0.0.5');
  });

  it('counts limits per address, and per /64 for IPv6', () => {
    expect(limitKey('203.0.113.7')).toBe('203.0.113.7');
    expect(limitKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(limitKey('2001:db8:1:2::99')).toBe(limitKey('2001:db8:1:2:ffff::1'));
    expect(limitKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(limitKey('::1')).toBe('0:0:0:0::/64');
    expect(limitKey('64:ff9b::192.0.2.33')).toBe('64:ff9b:0:0::/64');
  });
});

describe('TRUST_PROXY in the config', () => {
  it('takes hops or addresses and CIDR ranges, and refuses anything else', () => {
    expect(parseConfig({}).TRUST_PROXY).toBeUndefined();
    expect(parseConfig({ TRUST_PROXY: '2' }).TRUST_PROXY).toEqual({ hops: 2 });
    expect(parseConfig({ TRUST_PROXY: '0' }).TRUST_PROXY).toBeUndefined();
    expect(parseConfig({ TRUST_PROXY: '127.0.0.1, 10.0.0.0/8,fd00::/8' }).TRUST_PROXY).toEqual({
      ranges: ['127.0.0.1', '10.0.0.0/8', 'fd00::/8'],
    });
    for (const bad of ['true', '*', '10.0.0.0/33', 'nginx', '11', '10.0.0.1/8/8', '::1/129']) {
      expect(() => parseConfig({ TRUST_PROXY: bad }), bad).toThrow(ConfigError);
    }
    expect(() => parseConfig({ TRUST_PROXY_HEADER: 'x-real-ip' })).toThrow(ConfigError);
  });
});

describe('limits see the real client', () => {
  it('without TRUST_PROXY, X-Forwarded-For is ignored: one socket address is one client', async () => {
    await awayFromMinuteBoundary();
    const h = await harness({ RATE_LIMIT_PER_MINUTE: '2' });
    expect((await post(h, { headers: xff('198.51.100.1') })).status).toBe(202);
    expect((await post(h, { headers: xff('198.51.100.2') })).status).toBe(202);
    expect429(await post(h, { headers: xff('198.51.100.3') }), 'too-many-requests');
    // Another source address is another client.
    expect((await post(h, { localAddress: '127.0.0.2' })).status).toBe(202);
  });

  it('with TRUST_PROXY=1 (one nginx), each forwarded client has its own limit; a spoofed entry changes nothing', async () => {
    await awayFromMinuteBoundary();
    const h = await harness({ RATE_LIMIT_PER_MINUTE: '2', TRUST_PROXY: '1' });
    for (const client of ['198.51.100.1', '198.51.100.2']) {
      expect((await post(h, { headers: xff(client) })).status).toBe(202);
      expect((await post(h, { headers: xff(client) })).status).toBe(202);
      expect429(await post(h, { headers: xff(client) }), 'too-many-requests');
    }
    // The client wrote its own X-Forwarded-For; the proxy appended what it saw: that counts.
    expect429(await post(h, { headers: xff('203.0.113.99, 198.51.100.1') }), 'too-many-requests');
    expect((await post(h, { headers: xff('198.51.100.1, 198.51.100.3') })).status).toBe(202);
  });

  it('with TRUST_PROXY=<address>, only that peer may forward: another source is counted as itself', async () => {
    await awayFromMinuteBoundary();
    const h = await harness({ RATE_LIMIT_PER_MINUTE: '1', TRUST_PROXY: '127.0.0.1' });
    // From the trusted proxy (127.0.0.1): the forwarded client counts.
    expect((await post(h, { headers: xff('198.51.100.1') })).status).toBe(202);
    expect((await post(h, { headers: xff('198.51.100.2') })).status).toBe(202);
    // From 127.0.0.3, not a proxy: its header is its own claim, and it is one client.
    expect((await post(h, { headers: xff('198.51.100.7'), localAddress: '127.0.0.3' })).status).toBe(202);
    expect429(await post(h, { headers: xff('198.51.100.8'), localAddress: '127.0.0.3' }), 'too-many-requests');
  });

  it('logs the forwarded client address in the access log', async () => {
    const h = await harness({ TRUST_PROXY: '1' });
    const log = recordingLogger();
    const api = await startApi(h.config, h.redisUrl, log);
    apis.push(api);
    await send(api.url, 'GET', '/jobs/not-a-job', { headers: { ...xff('203.0.113.7'), 'x-request-id': 'fwd-1' } });
    await send(api.url, 'GET', '/jobs/not-a-job', { headers: { 'x-request-id': 'fwd-2' }, localAddress: '127.0.0.4' });
    await waitFor(() => log.lines.filter((l) => l.msg === 'request').length >= 2, 'two access-log lines');
    const client = (id: string) => log.lines.find((l) => l.fields.requestId === id)?.fields.client;
    expect(client('fwd-1')).toBe('203.0.113.7');
    expect(client('fwd-2')).toBe('127.0.0.4');
  });
});

describe("a stream token's viewers", () => {
  /** Opens `path` as a stream from `localAddress` (or with `headers`), and waits for its status. */
  async function open(h: Harness, path: string, options: { localAddress?: string; headers?: Record<string, string> }) {
    const agent = options.localAddress ? new Agent({ localAddress: options.localAddress } as object) : false;
    const stream = openStream(`${h.url}${path}`, { agent, headers: options.headers ?? {} });
    streams.push(stream);
    return { stream, status: (await stream.response).statusCode };
  }

  it('are counted each by address (MAX_STREAMS_PER_CLIENT=2), not against the key that issued the token', async () => {
    const h = await harness({ MAX_STREAMS_PER_CLIENT: '2' }, true);
    // A backend with one key serves many viewers: it hands each browser the job's events link.
    const job = await submitAs(h.url, KEY_A, { steps: 1, stepMs: 0 });
    const link = job.links.events;
    const viewers = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
    const opened = [];
    for (const localAddress of viewers) {
      for (let i = 0; i < 2; i++) opened.push(await open(h, link, { localAddress }));
    }
    // Six streams on one key's token, two per viewer: all open (before: the 3rd was a 429).
    expect(opened.map((s) => s.status)).toEqual([200, 200, 200, 200, 200, 200]);
    // A viewer's third is refused: the limit is per viewer.
    expect429(await send(h.url, 'GET', link, { localAddress: '127.0.0.2' }), 'too-many-streams');
    // The key's own streams are counted apart, against the key.
    const own = [
      await open(h, `/jobs/${job.id}/events`, { headers: bearer(KEY_A), localAddress: '127.0.0.2' }),
      await open(h, `/jobs/${job.id}/events`, { headers: bearer(KEY_A), localAddress: '127.0.0.5' }),
    ];
    expect(own.map((s) => s.status)).toEqual([200, 200]);
    expect429(await send(h.url, 'GET', `/jobs/${job.id}/events`, { headers: bearer(KEY_A) }), 'too-many-streams');
    for (const s of [...opened, ...own]) s.stream.close();
  });

  it('behind a trusted proxy, are told apart by their forwarded address', async () => {
    const h = await harness({ MAX_STREAMS_PER_CLIENT: '1', TRUST_PROXY: '1' }, true);
    const job = await submitAs(h.url, KEY_A, { steps: 1, stepMs: 0 });
    const a = await open(h, job.links.events, { headers: xff('198.51.100.1') });
    const b = await open(h, job.links.events, { headers: xff('198.51.100.2') });
    expect([a.status, b.status]).toEqual([200, 200]);
    expect429(await send(h.url, 'GET', job.links.events, { headers: xff('198.51.100.1') }), 'too-many-streams');
    a.stream.close();
    b.stream.close();
  });
});
