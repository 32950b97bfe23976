/**
 * `Expect: 100-continue` over HTTP/1.1 (plain or TLS): a `POST /jobs` whose Content-Length is past
 * `maxBytes` gets its 413 instead of `100 Continue`; a small one is invited, and its body, sent
 * only then, is accepted.
 */
import { expect } from 'vitest';
import { rawExchange } from './raw-exchange.js';

export async function expectContinueAnswers(url: string, maxBytes: number, options: { tls?: boolean } = {}) {
  const request = (length: number) =>
    `POST /jobs HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${length}\r\nexpect: 100-continue\r\nconnection: close\r\n\r\n`;
  const refused = await rawExchange(url, request(maxBytes + 1), options);
  expect(refused.split('\r\n')[0]).toBe('HTTP/1.1 413 Payload Too Large');
  expect(refused).not.toContain('100 Continue');

  const body = JSON.stringify({ type: 'simulate', data: { steps: 1, stepMs: 0 } });
  // The body goes only once the server asked for it.
  const invited = await rawExchange(url, request(Buffer.byteLength(body)), {
    ...options,
    follow: { seen: '100 Continue', send: body },
  });
  expect(invited.split('\r\n')[0]).toBe('HTTP/1.1 100 Continue');
  expect(invited).toContain('HTTP/1.1 202 Accepted');
}
