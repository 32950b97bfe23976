import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { parseConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { createRedis, redisSettings } from '../src/redis.js';
import { JobStore } from '../src/jobs/store.js';
import { createWebhooks } from '../src/webhooks/index.js';
import { deliveryJobOptions } from '../src/webhooks/queue.js';
import { Registry } from 'prom-client';
import { startWebhookWorker } from '../workers/webhooks.js';

const N = Number(process.argv[3] ?? 2000);
let got = 0; let last = 0;
const server = createServer((req, res) => { req.resume(); req.on('end', () => { got++; last = Date.now(); res.end('ok'); }); });
await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
const port = (server.address() as { port: number }).port;
const config = parseConfig({ KEY_PREFIX: `b${Date.now()}`, WEBHOOK_SECRET: `whsec_${Buffer.alloc(32, 7).toString('base64')}`, WEBHOOK_ALLOW_PRIVATE: '1', WEBHOOK_CONCURRENCY: process.argv[4] ?? '50' });
const log = createLogger('warn', {}, 'json');
const redis = createRedis(redisSettings(config, process.argv[2] as string), 'worker', log);
const webhooks = createWebhooks(config, redis, log);
const store = new JobStore(redis, { prefix: config.KEY_PREFIX, logMaxLines: 10, retentionSeconds: 600 });
const ids = Array.from({ length: N }, () => randomUUID());
for (let i = 0; i < N; i += 100) {
  await webhooks.queue.addBulk(ids.slice(i, i + 100).map((id) => ({ name: 'job.done', data: { jobId: id, event: 'done' as const, url: `http://127.0.0.1:${port}/h`, data: `{"jobId":"${id}","status":"completed","at":"${new Date().toISOString()}"}`, at: Date.now() }, opts: deliveryJobOptions(`${id}.done`, { maxAttempts: 3, retentionSeconds: 600 }) })));
}
const cpu0 = process.cpuUsage();
const t0 = Date.now();
const w = await startWebhookWorker(config, redis, store, webhooks, log, new Registry());
while (got < N) await new Promise((r) => setTimeout(r, 20));
const cpu = process.cpuUsage(cpu0);
console.log(`${N} deliveries in ${last - t0} ms: ${Math.round(N * 1000 / (last - t0))}/s; CPU ${(cpu.user + cpu.system) / 1000 / N} ms per delivery (this process, incl. receiver)`);
await w.close(); await webhooks.queue.close(); redis.disconnect(); server.close();
