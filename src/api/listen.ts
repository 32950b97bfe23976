/**
 * @module api/listen
 * The API's listening socket: HTTP/1.1, or HTTPS with HTTP/2 when TLS_CERT is set; timeouts so
 * a slow or silent client cannot hold a socket; and a close that ends every connection, idle
 * ones at once and the rest after a grace period.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  createSecureServer,
  type Http2SecureServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type Http2Session,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { serve } from '@hono/node-server';
import type { Config } from '../config.js';
import { explainListenError } from '../listen.js';
import { announcesTooLarge } from '../routes/body.js';
import { answerClientErrors } from './client-errors.js';

/** How long connections that have not closed after shutdown began are given before they are cut. */
const CLOSE_GRACE_MS = 2_000;

export interface ListeningApi {
  port: number;
  url: string;
  /**
   * Stops accepting and closes connections: `ending()` runs once accepting has stopped (the
   * streams end there), then idle connections and HTTP/2 sessions close, the rest are cut after
   * a grace period.
   */
  close(ending: () => void): Promise<void>;
}

/** What @hono/node-server serves (`app.fetch`); the package does not export its name. */
type Fetch = Parameters<typeof serve>[0]['fetch'];

/**
 * Serves `fetch` on PORT and HOST; resolves once listening, rejects with a `ListenError` (or the
 * error itself) when it cannot.
 */
export async function listenApi(
  fetch: Fetch,
  config: Pick<Config, 'PORT' | 'HOST' | 'TLS_CERT' | 'TLS_KEY' | 'HTTP_HEADERS_TIMEOUT_MS' | 'MAX_BODY_BYTES'>,
): Promise<ListeningApi> {
  const tls =
    config.TLS_CERT && config.TLS_KEY
      ? { cert: readFileSync(config.TLS_CERT), key: readFileSync(config.TLS_KEY) }
      : undefined;
  const server = tls
    ? serve({
        fetch,
        port: config.PORT,
        hostname: config.HOST,
        createServer: createSecureServer,
        // A client that never finishes the TLS handshake cannot hold a socket either.
        serverOptions: { ...tls, allowHTTP1: true, handshakeTimeout: config.HTTP_HEADERS_TIMEOUT_MS },
      })
    : serve({
        fetch,
        port: config.PORT,
        hostname: config.HOST,
        // Slow-header clients cannot hold sockets (streams themselves are long-lived on
        // purpose). Node checks these timeouts every connectionsCheckingInterval, which can
        // only be set here; its 30 s default would let a stalled client stay that long.
        serverOptions: {
          headersTimeout: config.HTTP_HEADERS_TIMEOUT_MS,
          requestTimeout: Math.max(config.HTTP_HEADERS_TIMEOUT_MS, 30_000),
          connectionsCheckingInterval: Math.min(1_000, Math.floor(config.HTTP_HEADERS_TIMEOUT_MS / 2)),
        },
      });
  // HTTP/1 requests the parser refuses get problems too (over TLS as well: the HTTP/2 server
  // parses its HTTP/1.1 connections with the same parser; HTTP/2's own errors are the protocol's).
  answerClientErrors(server as unknown as Parameters<typeof answerClientErrors>[0]);
  // `Expect: 100-continue`: a body the app refuses from its Content-Length alone is not
  // invited — its 413 goes out instead of the 100 Continue Node would send first.
  server.on('checkContinue', (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => {
    if (!announcesTooLarge(req.headers['content-length'], config.MAX_BODY_BYTES)) res.writeContinue();
    server.emit('request', req, res);
  });
  // An HTTP/2 server does not close its sessions on close(): track them for shutdown.
  const sessions = new Set<Http2Session>();
  server.on('session', (session: Http2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  if (tls) cutConnectionsWithoutRequest(server as Http2SecureServer, config.HTTP_HEADERS_TIMEOUT_MS);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
  } catch (error) {
    throw await explainListenError(error, { port: config.PORT, host: config.HOST, portSetting: 'PORT' });
  }
  const { port } = server.address() as AddressInfo;
  const url = `${tls ? 'https' : 'http'}://${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${port}`;

  const close = async (ending: () => void) => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    ending();
    if ('closeIdleConnections' in server) server.closeIdleConnections();
    for (const session of sessions) session.close();
    // Streams that ended still need their sockets to go; anything left after a grace period
    // (a client that never reads) is cut.
    const grace = setTimeout(() => {
      if ('closeAllConnections' in server) server.closeAllConnections();
      for (const session of sessions) session.destroy();
    }, CLOSE_GRACE_MS);
    await closed;
    clearTimeout(grace);
  };
  return { port, url, close };
}

/**
 * HTTP/1's headersTimeout for the TLS server, which has none: a connection must complete its
 * first request's headers within `ms` (an HTTP/2 session its first stream), or it is cut. A
 * client that connects and sends nothing, or never finishes its headers, holds no socket.
 */
function cutConnectionsWithoutRequest(server: Http2SecureServer, ms: number): void {
  const waiting = new WeakMap<object, NodeJS.Timeout>();
  server.on('secureConnection', (socket: TLSSocket) => {
    // HTTP/2 sessions are watched through their own events below.
    if (socket.alpnProtocol === 'h2') return;
    const timer = setTimeout(() => socket.destroy(), ms);
    waiting.set(socket, timer);
    socket.once('close', () => clearTimeout(timer));
  });
  server.on('request', (req: { socket: object }) => clearTimeout(waiting.get(req.socket)));
  server.on('session', (session: Http2Session) => {
    const timer = setTimeout(() => session.destroy(), ms);
    session.once('stream', () => clearTimeout(timer));
    session.once('close', () => clearTimeout(timer));
  });
}
