/**
 * @module bench/bare-sse-server
 * The baseline: the honest minimal Node SSE server fed through Redis pub/sub. One SUBSCRIBE
 * connection for the process; a channel is subscribed while it has clients; every message is
 * written as it came (the publisher sends ready SSE frames of the same size as jobcast's) to
 * each client of its channel, and a `done` frame ends their responses. No resume, no
 * conflation, no slow-client handling, no auth, no metrics: only what any SSE fan-out must do.
 *
 * GET /jobs/<id>/events streams channel `bare:<id>`; GET /stats → {"streams", "channels", "memory"}.
 * It also serves the minimal enqueue endpoint, a reference for `POST /jobs`: POST /jobs parses
 * the JSON body and calls `queue.add` with the options jobcast uses, nothing else (its Redis
 * connection is made on the first POST, so the stream scenarios never see it).
 * Env: REDIS_URL, PORT, KEY_PREFIX (for POST /jobs).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { bullPrefix } from '../src/jobs/keys.js';
import { bullJobOptions } from '../src/jobs/queue.js';
import { JobOptions } from '../src/jobs/schemas.js';

const subscriber = new Redis(process.env.REDIS_URL as string, { connectionName: 'bare:subscriber' });
interface Topic {
  /** Clients streaming this channel. */
  clients: Set<ServerResponse>;
  /** Clients waiting for the SUBSCRIBE to be confirmed. */
  waiting: number;
  subscribed: Promise<unknown>;
}
const channels = new Map<string, Topic>();
let streams = 0;

// The same response headers jobcast sends (src/sse.ts), so the same bytes go out.
const HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
};
const RETRY = Buffer.from('retry: 2000\n\n');
const DONE = Buffer.from('\nevent: done\n');

subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => {
  const entry = channels.get(channel.toString());
  if (!entry) return;
  const done = message.includes(DONE);
  for (const res of entry.clients) {
    res.write(message);
    if (done) res.end();
  }
});

let queue: Queue | undefined;
const jobOptions = JobOptions.parse({});

function enqueue(req: IncomingMessage, res: ServerResponse): void {
  queue ??= new Queue('jobs', {
    connection: new Redis(process.env.REDIS_URL as string, { maxRetriesPerRequest: 2, connectionName: 'bare:command' }),
    prefix: bullPrefix(process.env.KEY_PREFIX ?? 'bare'),
  });
  const q = queue;
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => {
    body += chunk;
  });
  req.on('end', () => {
    let job: { type: string; data: unknown };
    try {
      job = JSON.parse(body);
    } catch {
      res.writeHead(400).end();
      return;
    }
    const id = randomUUID();
    q.add(job.type, job.data, bullJobOptions(id, jobOptions, 86_400)).then(
      () => res.writeHead(202, { 'content-type': 'application/json', location: `/jobs/${id}` }).end(`{"id":"${id}"}`),
      () => res.writeHead(503).end(),
    );
  });
}

const server = createServer((req, res) => {
  const url = req.url ?? '';
  if (req.method === 'POST' && url === '/jobs') {
    enqueue(req, res);
    return;
  }
  if (url === '/stats') {
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ streams, channels: channels.size, memory: process.memoryUsage() }));
    return;
  }
  const match = /^\/jobs\/([\w-]+)\/events$/.exec(url);
  if (!match) {
    res.writeHead(404).end();
    return;
  }
  const channel = `bare:${match[1]}`;
  let entry = channels.get(channel);
  if (!entry) {
    entry = { clients: new Set(), waiting: 0, subscribed: subscriber.subscribe(channel) };
    channels.set(channel, entry);
  }
  const topic = entry;
  const release = () => {
    if (topic.clients.size > 0 || topic.waiting > 0 || channels.get(channel) !== topic) return;
    channels.delete(channel);
    subscriber.unsubscribe(channel).catch(() => {});
  };
  topic.waiting++;
  streams++;
  res.on('close', () => {
    streams--;
    topic.clients.delete(res);
    release();
  });
  topic.subscribed.then(
    () => {
      topic.waiting--;
      if (res.destroyed) return release();
      res.writeHead(200, HEADERS);
      res.write(RETRY);
      topic.clients.add(res);
    },
    () => {
      topic.waiting--;
      res.destroy();
    },
  );
});

server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close();
  subscriber.disconnect();
  process.exit(0);
});
