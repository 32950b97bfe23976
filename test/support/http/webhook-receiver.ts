/**
 * A real webhook receiver for tests: an HTTP server on 127.0.0.1 that records every request
 * (headers, raw body, when it came) and answers as the test says — per request, so a test can
 * fail the first attempts of a delivery, hang, redirect, or go away and come back on the same
 * port. Deliveries are verified with the `standardwebhooks` package, as a receiver would.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface ReceivedDelivery {
  /** `webhook-id`. */
  id: string;
  timestamp: string;
  signature: string;
  headers: IncomingMessage['headers'];
  /** The raw body, as sent. */
  body: string;
  /** The parsed body. */
  payload: { type: string; timestamp: string; data: Record<string, unknown> };
  receivedAt: number;
  /** The status this receiver answered. */
  answered: number;
  path: string;
  /** For a streamed answer: bytes of body written before the client went away, and whether it did. */
  bytesSent?: number;
  cut?: boolean;
}

/**
 * How to answer one request: a status (and optional body/headers), a status and a body of
 * `stream` bytes written 1 KB at a time (for as long as the client reads), 'hang' (never
 * answer), or 'destroy' (drop the connection).
 */
export type Answer =
  | number
  | { status: number; body?: string; headers?: Record<string, string> }
  | { status: number; stream: number }
  | 'hang'
  | 'destroy';

/** Decides the answer to a delivery; `attempt` is 1 for the first request with its webhook-id. */
export type Responder = (delivery: Omit<ReceivedDelivery, 'answered'>, attempt: number) => Answer;

export interface Receiver {
  url: string;
  port: number;
  /** Every request, in arrival order (hung ones included, with `answered` 0). */
  received: ReceivedDelivery[];
  /** Requests per webhook-id. */
  attempts(id: string): ReceivedDelivery[];
  /** Changes how later requests are answered. */
  respond(responder: Responder): void;
  /** Stops listening (connections are cut), as a receiver that goes down. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
}

/**
 * `keepAlive: false` (the default) answers every request with `Connection: close`, as many
 * receivers behind a proxy do: the worker's pooled connections then close as each answer ends,
 * not at the receiver's idle time-out 5 s later (the leak check would wait for them after every
 * test). The load test keeps them alive, as a busy receiver would.
 */
export async function startReceiver(
  responder: Responder = () => 200,
  port = 0,
  { keepAlive = false }: { keepAlive?: boolean } = {},
): Promise<Receiver> {
  let respond = responder;
  const received: ReceivedDelivery[] = [];
  const byId = new Map<string, ReceivedDelivery[]>();
  const hung = new Set<ServerResponse>();
  let server: Server | undefined;
  let boundPort = port;

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    if (!keepAlive) res.shouldKeepAlive = false;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let payload: ReceivedDelivery['payload'];
      try {
        payload = JSON.parse(body) as ReceivedDelivery['payload'];
      } catch {
        payload = { type: '(not JSON)', timestamp: '', data: {} };
      }
      const delivery: ReceivedDelivery = {
        id: String(req.headers['webhook-id'] ?? ''),
        timestamp: String(req.headers['webhook-timestamp'] ?? ''),
        signature: String(req.headers['webhook-signature'] ?? ''),
        headers: req.headers,
        body,
        payload,
        receivedAt: Date.now(),
        answered: 0,
        path: req.url ?? '',
      };
      received.push(delivery);
      const list = byId.get(delivery.id) ?? [];
      list.push(delivery);
      byId.set(delivery.id, list);
      const answer = respond(delivery, list.length);
      if (answer === 'hang') {
        hung.add(res);
        res.on('close', () => hung.delete(res));
        return;
      }
      if (answer === 'destroy') {
        req.socket.destroy();
        return;
      }
      if (typeof answer === 'object' && 'stream' in answer) {
        delivery.answered = answer.status;
        delivery.bytesSent = 0;
        res.writeHead(answer.status, { 'content-type': 'text/plain' });
        const chunk = Buffer.alloc(1024, 'x');
        const writer = setInterval(() => {
          if ((delivery.bytesSent ?? 0) >= answer.stream) {
            clearInterval(writer);
            res.end();
          } else if (!res.destroyed) {
            res.write(chunk);
            delivery.bytesSent = (delivery.bytesSent ?? 0) + chunk.length;
          }
        }, 5);
        res.on('close', () => {
          clearInterval(writer);
          delivery.cut = !res.writableFinished;
        });
        return;
      }
      const { status, body: text = '', headers = {} } = typeof answer === 'number' ? { status: answer } : answer;
      delivery.answered = status;
      res.writeHead(status, { 'content-type': 'text/plain', ...headers }).end(text);
    });
  };

  const start = async () => {
    server = createServer(handle);
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server?.once('error', reject);
      server?.listen(boundPort, '127.0.0.1', () => resolve());
    });
    boundPort = (server.address() as AddressInfo).port;
  };
  await start();

  return {
    get url() {
      return `http://127.0.0.1:${boundPort}/hooks`;
    },
    get port() {
      return boundPort;
    },
    received,
    attempts: (id) => byId.get(id) ?? [],
    respond(next) {
      respond = next;
    },
    async stop() {
      const s = server;
      server = undefined;
      if (!s) return;
      for (const res of hung) res.destroy();
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
    },
    start,
  };
}

/** Verifies a delivery as a receiver would, with `standardwebhooks` (throws if it does not verify). */
export function verifyWithStandardWebhooks(secret: string, delivery: ReceivedDelivery): unknown {
  return new Webhook(secret).verify(delivery.body, {
    'webhook-id': delivery.id,
    'webhook-timestamp': delivery.timestamp,
    'webhook-signature': delivery.signature,
  });
}

/** A fresh `whsec_` secret (32 random bytes). */
export function newSecret(): string {
  return `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64')}`;
}
