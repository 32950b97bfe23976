/**
 * @module workers/webhook-http
 * One webhook attempt over HTTP(S): a POST to the address the URL policy checked (never to
 * whatever the name resolves to by the time the socket opens), redirects not followed, the
 * answer's body read to a few KB at most, the whole attempt bounded by WEBHOOK_TIMEOUT_MS.
 * Keep-alive agents reuse connections to a receiver; each was opened to a checked address.
 */
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import { bareHost, type CheckedAddress } from '../src/webhooks/url-policy.js';

/** What jobcast reads of an answer's body at most (for the error message); the rest is dropped. */
export const MAX_RESPONSE_BYTES = 4_096;

/** An attempt that got no HTTP answer. */
export class AttemptError extends Error {
  override name = 'AttemptError';
  constructor(
    message: string,
    readonly kind: 'timeout' | 'network',
  ) {
    super(message);
  }
}

export interface Answer {
  status: number;
  /** The start of the body (up to MAX_RESPONSE_BYTES), as text. */
  body: string;
}

export class WebhookHttp {
  readonly #http = new http.Agent({ keepAlive: true, maxSockets: 64 });
  readonly #https = new https.Agent({ keepAlive: true, maxSockets: 64 });

  /** POSTs `body` to `url` at `address`; resolves with the answer or rejects with an {@link AttemptError}. */
  post(
    url: URL,
    address: CheckedAddress,
    headers: Record<string, string>,
    body: string,
    timeoutMs: number,
  ): Promise<Answer> {
    const secure = url.protocol === 'https:';
    const host = bareHost(url);
    // The socket connects to the checked address; net may ask for one address or all of them.
    const pinned: LookupFunction = (_hostname, options, callback) => {
      if ((options as { all?: boolean }).all) {
        (callback as (e: null, all: { address: string; family: number }[]) => void)(null, [
          { address: address.address, family: address.family },
        ]);
      } else callback(null, address.address, address.family);
    };
    return new Promise<Answer>((resolve, reject) => {
      let settled = false;
      const finish = (error: Error | undefined, answer?: Answer) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) reject(error);
        else resolve(answer as Answer);
      };
      const request = (secure ? https : http).request(
        {
          method: 'POST',
          protocol: url.protocol,
          host,
          port: url.port || (secure ? 443 : 80),
          path: `${url.pathname}${url.search}`,
          headers: {
            ...headers,
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(body)),
            'user-agent': 'jobcast-webhooks',
            ...(url.username || url.password
              ? {
                  authorization: `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`,
                }
              : {}),
          },
          lookup: pinned,
          // TLS checks the certificate against the name in the URL, not the address.
          ...(secure && !isIP(host) ? { servername: host } : {}),
          agent: secure ? this.#https : this.#http,
        },
        (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          const done = () =>
            finish(undefined, {
              status: response.statusCode ?? 0,
              body: Buffer.concat(chunks).subarray(0, MAX_RESPONSE_BYTES).toString('utf8'),
            });
          response.on('data', (chunk: Buffer) => {
            if (size >= MAX_RESPONSE_BYTES) return;
            chunks.push(chunk);
            size += chunk.length;
            // Enough: a receiver cannot make jobcast read (or wait for) a large answer.
            if (size >= MAX_RESPONSE_BYTES) {
              done();
              response.destroy();
            }
          });
          response.on('end', done);
          response.on('error', () => done());
        },
      );
      const timer = setTimeout(() => {
        const error = new AttemptError(`no answer within ${timeoutMs} ms`, 'timeout');
        finish(error);
        request.destroy(error);
      }, timeoutMs);
      request.on('error', (error: NodeJS.ErrnoException) => {
        const message =
          tlsFailure(error) ??
          (!error.code || error.message.includes(error.code) ? error.message : `${error.code}: ${error.message}`);
        finish(new AttemptError(message, 'network'));
      });
      request.end(body);
    });
  }

  close(): void {
    this.#http.destroy();
    this.#https.destroy();
  }
}

/**
 * A TLS failure in words: OpenSSL's own line (`write EPROTO 806C…:error:0A00010B:SSL
 * routines:ssl3_get_record:wrong version number:../deps/openssl/…`) says little to whoever reads
 * a delivery's `lastError`. Undefined for any other error.
 */
function tlsFailure(error: NodeJS.ErrnoException & { reason?: string }): string | undefined {
  const reason = error.reason ?? /SSL routines:[^:]*:([^:]+)/.exec(error.message)?.[1];
  if (reason === undefined) return undefined;
  // An https:// URL to a server that speaks plain HTTP on that port: its answer is no TLS record.
  const hint = /wrong version number|packet length too long/.test(reason)
    ? ' (does the receiver serve https on that port?)'
    : '';
  return `TLS failed: ${reason}${hint}`;
}
