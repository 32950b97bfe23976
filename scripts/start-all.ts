/**
 * `npm start`: the whole service in one process — the API and a worker — plus a managed local
 * redis-server when REDIS_URL is unset. Everything stops on SIGTERM/SIGINT.
 */
import { loadConfigOrExit } from '../src/config.js';
import { loadJobTypesOrExit } from '../src/jobs/load.js';
import { stopOnSignals } from '../src/lifecycle.js';
import { LocalRedisError, startLocalRedis } from '../src/local-redis.js';
import { createLogger } from '../src/log.js';
import { startApi } from '../src/server.js';
import { startWorker } from '../workers/runner.js';

const config = loadConfigOrExit(process.env);
// Before a local Redis is started: a module that cannot be used stops everything at once.
const jobTypes = await loadJobTypesOrExit(config.JOB_TYPES);
const log = createLogger(config.LOG_LEVEL, {}, config.LOG_FORMAT);

let redisUrl = config.REDIS_URL;
let localRedis: Awaited<ReturnType<typeof startLocalRedis>> | undefined;
if (!redisUrl) {
  try {
    localRedis = await startLocalRedis({ port: config.LOCAL_REDIS_PORT, dir: config.LOCAL_REDIS_DIR });
  } catch (error) {
    if (!(error instanceof LocalRedisError)) throw error;
    log.error(error.message);
    process.exit(1);
  }
  redisUrl = localRedis.url;
  log.info('started a local redis-server (set REDIS_URL to use your own)', {
    url: redisUrl,
    dir: config.LOCAL_REDIS_DIR,
  });
}

const worker = await startWorker(config, redisUrl, log.child({ role: 'worker' }), { jobTypes });
const api = await startApi(config, redisUrl, log.child({ role: 'api' }), {
  extraMetrics: [worker.metrics.registry],
  jobTypes,
});
console.log(
  [
    '',
    `jobcast is running at ${api.url}  (Ctrl-C stops it)`,
    `  live page:      ${api.url}/`,
    `  API reference:  ${api.url}/docs`,
    `  try:            curl -s -X POST ${api.url}/jobs -H 'content-type: application/json' -d '{"type":"simulate","data":{"steps":5}}'`,
    '',
  ].join('\n'),
);

stopOnSignals(
  async () => {
    await api.close();
    await worker.close();
    await localRedis?.stop();
  },
  log,
  config.SHUTDOWN_TIMEOUT_MS + 10_000,
);
