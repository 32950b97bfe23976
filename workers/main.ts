/**
 * @module workers/main
 * `npm run start:worker`: one worker process against REDIS_URL (for scale-out), with its
 * Prometheus metrics on WORKER_METRICS_PORT. It takes jobs as soon as Redis answers.
 */
import { createServer } from 'node:http';
import { loadConfigOrExit } from '../src/config.js';
import { loadJobTypesOrExit } from '../src/jobs/load.js';
import { requireRedisUrl, startOrExit, stopOnSignals } from '../src/lifecycle.js';
import { explainListenError } from '../src/listen.js';
import { createLogger } from '../src/log.js';
import { metricsText } from '../src/metrics.js';
import { createWorker, type RunningWorker } from './runner.js';

const config = loadConfigOrExit(process.env);
const jobTypes = await loadJobTypesOrExit(config.JOB_TYPES);
const log = createLogger(config.LOG_LEVEL, { role: 'worker' }, config.LOG_FORMAT);
const redisUrl = requireRedisUrl(config.REDIS_URL, log);

// The metrics port first: when it is taken, the process says so and exits before it connects.
let worker: RunningWorker | undefined;
const metricsServer =
  config.WORKER_METRICS_PORT > 0
    ? createServer((req, res) => {
        if (req.url === '/metrics' && worker) {
          metricsText([worker.metrics.registry]).then(
            ({ contentType, text }) => res.writeHead(200, { 'content-type': contentType }).end(text),
            () => res.writeHead(500).end(),
          );
        } else if (req.url === '/healthz') {
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
        } else {
          res.writeHead(404).end();
        }
      })
    : undefined;
if (metricsServer) {
  await startOrExit(
    () =>
      new Promise<void>((resolve, reject) => {
        metricsServer.once('error', (error) => {
          void explainListenError(error, {
            port: config.WORKER_METRICS_PORT,
            host: config.HOST,
            portSetting: 'WORKER_METRICS_PORT',
          }).then(reject);
        });
        metricsServer.listen(config.WORKER_METRICS_PORT, config.HOST, () => resolve());
      }),
    log,
  );
  log.info('worker metrics listening', { port: config.WORKER_METRICS_PORT });
}
const running = createWorker(config, redisUrl, log, { jobTypes });
worker = running;

stopOnSignals({
  async stop() {
    metricsServer?.close();
    await running.close();
  },
  hurry: () => void running.hurry(),
  log,
  hardLimitMs: config.SHUTDOWN_TIMEOUT_MS + 5_000,
});
