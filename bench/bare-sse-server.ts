/**
 * @module bench/bare-sse-server
 * The baseline: the honest minimal Node SSE server fed through Redis pub/sub. One SUBSCRIBE
 * connection for the process; a channel is subscribed while it has clients; every message is
 * written as it came (the publisher sends ready SSE frames of the same size as jobcast's) to
 * each client of its channel, and a `done` frame ends their responses. No resume, no
 * conflation, no slow-client handling, no auth, no metrics: only what any SSE fan-out must do.
 *
 * GET /jobs/<id>/events streams channel `bare:<id>`; GET /stats → {"streams", "channels", "memory"}.
 * It also serves the minimal enqueue endpoints, references for `POST /jobs` and `/jobs/batch`:
 * POST /jobs parses the JSON body and calls `queue.add` with the options jobcast uses, POST
 * /jobs/batch (`{"jobs": [...]}`) calls `queue.addBulk` the same way and answers the ids, nothing
 * else (the Redis connection is made on the first POST, so the stream scenarios never see it).
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

/** Reads a JSON body, then answers it with `then` (400 when it is not JSON). */
function withJsonBody(req: IncomingMessage, res: ServerResponse, then: (body: unknown) => void): void {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => {
    body += chunk;
  });
  req.on('end', () => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      res.writeHead(400).end();
      return;
    }
    then(parsed);
  });
}

function bullQueue(): Queue {
  queue ??= new Queue('jobs', {
    connection: new Redis(process.env.REDIS_URL as string, { maxRetriesPerRequest: 2, connectionName: 'bare:command' }),
    prefix: bullPrefix(process.env.KEY_PREFIX ?? 'bare'),
  });
  return queue;
}

interface BareJob {
  type: string;
  data: unknown;
}

function enqueue(req: IncomingMessage, res: ServerResponse): void {
  const q = bullQueue();
  withJsonBody(req, res, (body) => {
    const job = body as BareJob;
    const id = randomUUID();
    q.add(job.type, job.data, bullJobOptions(id, jobOptions, 86_400)).then(
      () => res.writeHead(202, { 'content-type': 'application/json', location: `/jobs/${id}` }).end(`{"id":"${id}"}`),
      () => res.writeHead(503).end(),
    );
  });
}

function enqueueBatch(req: IncomingMessage, res: ServerResponse): void {
  const q = bullQueue();
  withJsonBody(req, res, (body) => {
    const jobs = (body as { jobs: BareJob[] }).jobs;
    const ids = jobs.map(() => randomUUID());
    q.addBulk(
      jobs.map((job, i) => ({
        name: job.type,
        data: job.data,
        opts: bullJobOptions(ids[i] as string, jobOptions, 86_400),
      })),
    ).then(
      () => res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ ids })),
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
  if (req.method === 'POST' && url === '/jobs/batch') {
    enqueueBatch(req, res);
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
