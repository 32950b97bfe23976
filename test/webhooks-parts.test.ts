/**
 * The parts of webhooks (#17) on their own: signatures (ours against the `standardwebhooks`
 * package, both ways, for any body), the client's `verifyWebhook` (WebCrypto), the URL policy
 * (which addresses are private; a name resolving to a private address among public ones is
 * refused), the HTTP attempt (it connects to the checked address, never re-resolves), and the
 * retry schedule; and the typed client bundled for browsers, verifying a delivery in Chromium.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhook, WebhookVerificationError } from '../packages/client/src/index.js';
import { isPrivateAddress } from '../src/webhooks/addresses.js';
import { MAX_RETRY_DELAY_MS, retryDelayMs } from '../src/webhooks/queue.js';
import { WebhookSigner } from '../src/webhooks/signing.js';
import { UrlPolicy, WebhookHostUnresolved, WebhookUrlRefused } from '../src/webhooks/url-policy.js';
import { displayUrl, storeWebhook, webhookView } from '../src/webhooks/view.js';
import { WebhookHttp } from '../workers/webhook-http.js';
import { newSecret, type Receiver, startReceiver } from './support/http/webhook-receiver.js';
import { sharedChromium } from './support/page/browser.js';

const SECRET = newSecret();
const OTHER = newSecret();

describe('signatures', () => {
  it('ours verify with standardwebhooks, and standardwebhooks’ with verifyWebhook, for any id and body', async () => {
    const signer = new WebhookSigner(SECRET);
    const reference = new Webhook(SECRET);
    await fc.assert(
      fc.asyncProperty(
        fc.stringMatching(/^[\w.-]{1,60}$/),
        fc.string({ unit: 'grapheme', maxLength: 300 }),
        async (id, text) => {
          const body = JSON.stringify({ type: 'job.log', timestamp: new Date().toISOString(), data: { line: text } });
          const now = Math.floor(Date.now() / 1000);
          const ours = signer.headers(id, now, body);
          expect(reference.verify(body, { ...ours })).toEqual(JSON.parse(body));
          const theirs = reference.sign(id, new Date(now * 1000), body);
          expect(ours['webhook-signature']).toBe(theirs);
          const event = await verifyWebhook(body, { ...ours }, SECRET);
          expect(event).toMatchObject({ id, type: 'job.log', data: { line: text } });
        },
      ),
      { numRuns: 100 },
    );
  });

  it('during a rotation both secrets sign, and a receiver with either one verifies', async () => {
    const body = '{"type":"job.done","timestamp":"2026-01-01T00:00:00.000Z","data":{}}';
    const headers = new WebhookSigner(`${SECRET},${OTHER}`).headers('x.done', Math.floor(Date.now() / 1000), body);
    expect(headers['webhook-signature']).toMatch(/^v1,\S+ v1,\S+$/);
    for (const secret of [SECRET, OTHER]) {
      expect(new Webhook(secret).verify(body, { ...headers })).toBeTruthy();
      await expect(verifyWebhook(body, new Headers({ ...headers }), secret)).resolves.toMatchObject({ id: 'x.done' });
    }
    // A receiver mid-rotation holds both and accepts a delivery signed with only one.
    const single = new WebhookSigner(OTHER).headers('y.done', Math.floor(Date.now() / 1000), body);
    await expect(verifyWebhook(body, single, [SECRET, OTHER])).resolves.toMatchObject({ id: 'y.done' });
  });

  it('verifyWebhook refuses a changed body, another secret, an old or future timestamp, missing headers', async () => {
    const body = '{"type":"job.done","timestamp":"2026-01-01T00:00:00.000Z","data":{"jobId":"a"}}';
    const now = Math.floor(Date.now() / 1000);
    const headers = new WebhookSigner(SECRET).headers('a.done', now, body);
    const refused = (promise: Promise<unknown>) => expect(promise).rejects.toBeInstanceOf(WebhookVerificationError);
    await refused(verifyWebhook(body.replace('"a"', '"b"'), headers, SECRET));
    await refused(verifyWebhook(body, headers, OTHER));
    await refused(verifyWebhook(body, { ...headers, 'webhook-id': 'b.done' }, SECRET));
    await refused(verifyWebhook(body, headers, SECRET, { now: (now + 301) * 1000 }));
    await refused(verifyWebhook(body, headers, SECRET, { now: (now - 301) * 1000 }));
    await refused(verifyWebhook(body, { 'webhook-id': 'a.done' }, SECRET));
    await refused(verifyWebhook(body, { ...headers, 'webhook-signature': 'v2,abc' }, SECRET));
    // Within the tolerance, and as bytes, it verifies; header names in any case.
    const upper = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toUpperCase(), v]));
    await expect(
      verifyWebhook(new TextEncoder().encode(body), upper, SECRET, { now: (now + 299) * 1000 }),
    ).resolves.toMatchObject({ data: { jobId: 'a' } });
  });

  it('a secret that is not whsec_ + base64 of 24–64 bytes is refused', () => {
    expect(() => new WebhookSigner('whsec_c2hvcnQ=')).toThrow(/24–64 bytes/);
    expect(() => new WebhookSigner('secret')).toThrow(/whsec_/);
    expect(() => new WebhookSigner(`whsec_${'*'.repeat(40)}`)).toThrow(/base64/);
  });
});

describe('URL policy', () => {
  it('knows which addresses are private, loopback, link-local or reserved', () => {
    const inside = [
      '127.0.0.1',
      '10.0.0.1',
      '172.16.5.4',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '198.18.0.1',
      '::1',
      '::',
      'fe80::1',
      'fd12:3456::1',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '64:ff9b::a00:1',
      '2002:c0a8:101::1',
      '2001:db8::1',
      'not an address',
    ];
    const outside = ['93.184.215.14', '8.8.8.8', '1.1.1.1', '2606:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808'];
    for (const a of inside) expect(isPrivateAddress(a), a).toBe(true);
    for (const a of outside) expect(isPrivateAddress(a), a).toBe(false);
  });

  it('resolves once and refuses a name with any private address; accepts a public-only one', async () => {
    const answers: Record<string, { address: string; family: number }[]> = {
      'public.test': [{ address: '93.184.215.14', family: 4 }],
      'mixed.test': [
        { address: '93.184.215.14', family: 4 },
        { address: '10.0.0.7', family: 4 },
      ],
      'v6.test': [{ address: '::1', family: 6 }],
    };
    let lookups = 0;
    const policy = new UrlPolicy({
      allowPrivate: false,
      allowedHosts: '.corp.test,10.9.0.0/16',
      lookup: async (host) => {
        lookups++;
        if (host.endsWith('.corp.test')) return [{ address: '10.9.1.1', family: 4 }];
        const found = answers[host];
        if (!found) throw Object.assign(new Error('nope'), { code: 'ENOTFOUND' });
        return found;
      },
    });
    await expect(policy.resolve(policy.parse('https://public.test/x'), 1_000)).resolves.toEqual({
      address: '93.184.215.14',
      family: 4,
    });
    await expect(policy.resolve(policy.parse('https://mixed.test/x'), 1_000)).rejects.toThrow(/10\.0\.0\.7.*private/);
    await expect(policy.resolve(policy.parse('https://v6.test/x'), 1_000)).rejects.toBeInstanceOf(WebhookUrlRefused);
    await expect(policy.resolve(policy.parse('https://gone.test/x'), 1_000)).rejects.toBeInstanceOf(
      WebhookHostUnresolved,
    );
    // The allowlist: a listed domain (http too) and a listed range.
    await expect(policy.resolve(policy.parse('http://hooks.corp.test/x'), 1_000)).resolves.toMatchObject({
      address: '10.9.1.1',
    });
    await expect(policy.resolve(policy.parse('https://10.9.200.1/x'), 1_000)).resolves.toMatchObject({
      address: '10.9.200.1',
    });
    expect(() => policy.parse('https://10.10.0.1/x')).toThrow(WebhookUrlRefused);
    expect(lookups).toBe(5);
    // A name's checked addresses are reused for a while; they are checked again every time.
    await policy.resolve(policy.parse('https://public.test/y'), 1_000);
    await expect(policy.resolve(policy.parse('https://mixed.test/y'), 1_000)).rejects.toBeInstanceOf(WebhookUrlRefused);
    expect(lookups).toBe(5);
  });

  it('a slow resolver is a temporary failure, not a refusal', async () => {
    const policy = new UrlPolicy({ allowPrivate: false, allowedHosts: '', lookup: () => new Promise(() => {}) });
    const error = await policy.resolve(policy.parse('https://slow.test/'), 50).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebhookHostUnresolved);
    expect((error as WebhookHostUnresolved).permanent).toBe(false);
  });
});

describe('an attempt over HTTP', () => {
  let receiver: Receiver;
  const http = new WebhookHttp();
  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(async () => {
    http.close();
    await receiver.stop();
  });

  it('connects to the address that was checked, whatever the name would resolve to now (no DNS rebinding)', async () => {
    // `rebind.invalid` resolves to nothing at all: only the pinned address can be reached.
    const url = new URL(`http://rebind.invalid:${receiver.port}/pinned?x=1`);
    const answer = await http.post(url, { address: '127.0.0.1', family: 4 }, { 'webhook-id': 'p' }, '{}', 2_000);
    expect(answer.status).toBe(200);
    const got = receiver.received.at(-1);
    expect(got?.path).toBe('/pinned?x=1');
    expect(got?.headers.host).toBe(`rebind.invalid:${receiver.port}`);
  });

  it('says a TLS failure in words: an https:// URL to a receiver that speaks plain HTTP', async () => {
    const url = new URL(`https://127.0.0.1:${receiver.port}/plain`);
    const failed = await http.post(url, { address: '127.0.0.1', family: 4 }, {}, '{}', 2_000).then(
      () => undefined,
      (error: unknown) => error as { kind: string; message: string },
    );
    expect(failed?.kind).toBe('network');
    expect(failed?.message).toMatch(
      /^TLS failed: wrong version number \(does the receiver serve https on that port\?\)$/,
    );
  });

  it('times out a receiver that does not answer', async () => {
    receiver.respond(() => 'hang');
    const started = Date.now();
    await expect(
      http.post(new URL(receiver.url), { address: '127.0.0.1', family: 4 }, {}, '{}', 200),
    ).rejects.toMatchObject({ kind: 'timeout' });
    expect(Date.now() - started).toBeLessThan(1_000);
    receiver.respond(() => 200);
  });
});

describe('the job resource’s webhook', () => {
  it('shows the URL with any password masked, and the delivery counts; never a secret', () => {
    expect(displayUrl('https://user:s3cret@hooks.example.com/x?y=1')).toBe('https://user:***@hooks.example.com/x?y=1');
    expect(displayUrl('https://hooks.example.com/x')).toBe('https://hooks.example.com/x');
    const view = webhookView({
      webhook: storeWebhook({ url: 'https://user:s3cret@hooks.example.com/x', events: ['done'] }),
      whN: '5',
      whOk: '2',
      whFail: '1',
      whSup: '1',
      whCode: '503',
      whAt: '1764950400000',
    });
    expect(view).toEqual({
      url: 'https://user:***@hooks.example.com/x',
      events: ['done'],
      status: 'active',
      deliveries: { pending: 1, delivered: 2, failed: 1, superseded: 1 },
      lastResponseCode: 503,
      lastAttemptAt: '2025-12-05T16:00:00.000Z',
    });
    expect(JSON.stringify(view)).not.toContain('s3cret');
    expect(webhookView({ whOff: 'gone', webhook: storeWebhook({ url: 'https://h/', events: ['log'] }) })).toMatchObject(
      {
        status: 'disabled',
        disabledReason: 'gone',
      },
    );
    expect(webhookView({})).toBeUndefined();
  });
});

describe('retry schedule', () => {
  it('starts at the base, doubles, stops at one hour, and is shortened by up to 20 %', () => {
    const full = [1, 2, 3, 4, 5, 10, 20].map((n) => retryDelayMs(n, 5_000, 0));
    expect(full).toEqual([5_000, 10_000, 20_000, 40_000, 80_000, 2_560_000, MAX_RETRY_DELAY_MS]);
    expect(retryDelayMs(1, 5_000, 0.999)).toBe(4_001);
    expect(retryDelayMs(30, 5_000, 1)).toBe(0.8 * MAX_RETRY_DELAY_MS);
    // The defaults (20 attempts) keep trying for hours.
    const total = Array.from({ length: 19 }, (_, i) => retryDelayMs(i + 1, 5_000, 0)).reduce((a, b) => a + b, 0);
    expect(total / 3_600_000).toBeGreaterThan(10);
  });
});

describe('verifyWebhook in a browser', () => {
  it('the client bundles for browsers with no Node module, and verifies a delivery in Chromium (WebCrypto)', async () => {
    const bundled = await build({
      entryPoints: [new URL('../packages/client/src/index.ts', import.meta.url).pathname],
      bundle: true,
      write: false,
      format: 'iife',
      globalName: 'jobcast',
      platform: 'browser',
      logLevel: 'silent',
    });
    const code = bundled.outputFiles[0]?.text ?? '';
    expect(code).not.toMatch(/require\(["']node:|from ["']node:/);
    const context = await (await sharedChromium()).newContext();
    try {
      const page = await context.newPage();
      // A secure context (WebCrypto's subtle API needs one): a page served from 127.0.0.1.
      const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<p>ok</p>'));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const { port } = server.address() as AddressInfo;
        await page.goto(`http://127.0.0.1:${port}/`);
        await page.addScriptTag({ content: code });
        const body =
          '{"type":"job.done","timestamp":"2026-01-01T00:00:00.000Z","data":{"jobId":"j","status":"completed"}}';
        const headers = new WebhookSigner(`${SECRET},${OTHER}`).headers('j.done', Math.floor(Date.now() / 1000), body);
        const verdicts = await page.evaluate(
          async ({ body, headers, secret, other }) => {
            const { verifyWebhook } = (
              window as unknown as { jobcast: typeof import('../packages/client/src/index.js') }
            ).jobcast;
            const ok = await verifyWebhook(body, new Headers(headers), other);
            const bad = await verifyWebhook(`${body} `, headers, secret).then(
              () => 'accepted',
              (e: Error) => e.name,
            );
            return { ok: ok.type, bad };
          },
          { body, headers, secret: SECRET, other: OTHER },
        );
        expect(verdicts).toEqual({ ok: 'job.done', bad: 'WebhookVerificationError' });
      } finally {
        server.close();
      }
    } finally {
      await context.close();
    }
  });
});
