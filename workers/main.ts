/**
 * @module workers/main
 * `npm run start:worker`: one worker process against REDIS_URL (for scale-out), with its
 * Prometheus metrics on WORKER_METRICS_PORT.
 */
import { createServer } from 'node:http';
import { loadConfigOrExit } from '../src/config.js';
import { loadJobTypesOrExit } from '../src/jobs/load.js';
import { requireRedisUrl, stopOnSignals } from '../src/lifecycle.js';
import { createLogger } from '../src/log.js';
import { metricsText } from '../src/metrics.js';
import { startWorker } from './runner.js';

const config = loadConfigOrExit(process.env);
const jobTypes = await loadJobTypesOrExit(config.JOB_TYPES);
const log = createLogger(config.LOG_LEVEL, { role: 'worker' }, config.LOG_FORMAT);
const worker = await startWorker(config, requireRedisUrl(config.REDIS_URL, log), log, { jobTypes });

const metricsServer =
  config.WORKER_METRICS_PORT > 0
    ? createServer((req, res) => {
        if (req.url === '/metrics') {
          metricsText([worker.metrics.registry]).then(
            ({ contentType, text }) => res.writeHead(200, { 'content-type': contentType }).end(text),
            () => res.writeHead(500).end(),
          );
        } else if (req.url === '/healthz') {
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
        } else {
          res.writeHead(404).end();
        }
      }).listen(config.WORKER_METRICS_PORT, config.HOST, () =>
        log.info('worker metrics listening', { port: config.WORKER_METRICS_PORT }),
      )
    : undefined;

stopOnSignals(
  async () => {
    metricsServer?.close();
    await worker.close();
  },
  log,
  config.SHUTDOWN_TIMEOUT_MS + 5_000,
);
