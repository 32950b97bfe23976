/**
 * `npm start`: the whole service in one process — the API and a worker — plus a managed local
 * redis-server when REDIS_URL is unset. The API listens first and whatever Redis does (/readyz
 * says 503 until Redis answers); the worker starts taking jobs once Redis answers. One
 * SIGINT/SIGTERM stops everything gracefully (running jobs are handed back to the queue, and
 * the next start takes them at once); a second one hands them back now; a third exits.
 * With API_PROCESSES=N the API runs as N processes on one port (`cluster/primary`); this
 * process is their primary and keeps the worker and the local Redis, which it starts again if
 * it exits on its own (`local-redis`).
 */
import type { Registry } from 'prom-client';
import { startApiProcesses } from '../src/cluster/primary.js';
import { checkSettingFiles } from '../src/config/files.js';
import { loadConfigOrExit, orExitOnConfigError } from '../src/config.js';
import { loadJobTypesOrExit } from '../src/jobs/load.js';
import { startOrExit, stopOnSignals } from '../src/lifecycle.js';
import { checkListenable, ListenError } from '../src/listen.js';
import { type LocalRedis, LocalRedisError, startManagedRedis } from '../src/local-redis.js';
import { createLogger } from '../src/log.js';
import { redactedUrl } from '../src/redis-faults.js';
import { startApi } from '../src/server.js';
import { createWorker } from '../workers/runner.js';

const config = loadConfigOrExit(process.env);
const settingFiles = orExitOnConfigError(() => checkSettingFiles(config));
// Before a local Redis is started: a module that cannot be used stops everything at once.
const jobTypes = await loadJobTypesOrExit(config.JOB_TYPES);
const log = createLogger(config.LOG_LEVEL, {}, config.LOG_FORMAT);

/** What runs, once started; stopping waits for start-up to finish first (it is bounded). */
const services = start();

async function stopAll(): Promise<void> {
  const { api, worker, localRedis } = await services;
  // Side by side: streams end (clients resume elsewhere or after the restart) while running
  // jobs finish or are handed back; Redis goes last, once nothing needs it.
  await Promise.all([api.close(), worker.close()]);
  await localRedis?.stop();
}

// Installed before anything starts: a Ctrl-C during start-up still stops what was started.
stopOnSignals({
  stop: stopAll,
  hurry: () => void services.then(({ worker }) => worker.hurry()),
  log,
  hardLimitMs: config.SHUTDOWN_TIMEOUT_MS + 10_000,
});

async function start() {
  let redisUrl = config.REDIS_URL;
  let localRedis: LocalRedis | undefined;
  if (!redisUrl) {
    try {
      // A taken API port is said before a Redis is started only to be stopped again.
      await checkListenable(config.HOST, config.PORT, 'PORT');
      localRedis = await startManagedRedis(
        {
          port: config.LOCAL_REDIS_PORT,
          dir: config.LOCAL_REDIS_DIR,
          // Out of reach of Ctrl-C: it stops last, after running jobs were handed back.
          ownProcessGroup: true,
        },
        log,
        (why) => {
          log.error(why);
          void stopAll().finally(() => process.exit(1));
        },
      );
    } catch (error) {
      if (!(error instanceof LocalRedisError || error instanceof ListenError)) throw error;
      log.error(error.message);
      process.exit(1);
    }
    redisUrl = localRedis.url;
    log.info('started a local redis-server (set REDIS_URL to use your own)', {
      url: redisUrl,
      dir: config.LOCAL_REDIS_DIR,
    });
  }
  const url = redisUrl;

  // The worker's metrics join the API's /metrics once the worker exists.
  const extraMetrics: Registry[] = [];
  const api = await startOrExit<{ url: string; close(): Promise<void> }>(
    () =>
      config.API_PROCESSES > 1
        ? startApiProcesses({ count: config.API_PROCESSES, log, env: { REDIS_URL: url }, extraMetrics })
        : startApi(config, url, log.child({ role: 'api' }), { extraMetrics, jobTypes }),
    log,
    async () => localRedis?.stop(),
  );
  const worker = createWorker(config, url, log.child({ role: 'worker' }), { jobTypes });
  extraMetrics.push(worker.metrics.registry);
  // A curl to try is worth showing only if it would work: with Redis not answering, it gets a 503.
  const redisAnswers = await isReady(api.url);
  // With API keys on, the curl names the variable the CLI reads a key from, never a key.
  const keysOn = settingFiles.apiKeys.length > 0;
  const auth = keysOn ? ` -H "authorization: Bearer $JOBCAST_API_KEY"` : '';
  const banner = [
    '',
    `jobcast is running at ${api.url}  (Ctrl-C stops it)`,
    `  live page:      ${api.url}/`,
    `  API reference:  ${api.url}/docs`,
  ];
  if (!redisAnswers) {
    banner.push(
      `  Redis:          not answering at ${redactedUrl(url)} yet: requests get 503 until it does (the log says why)`,
    );
  } else {
    const body = `'{"type":"simulate","data":{"steps":5}}'`;
    banner.push(
      `  try:            curl -s -X POST ${api.url}/jobs${auth} -H 'content-type: application/json' -d ${body}`,
    );
    if (keysOn)
      banner.push(
        '                  (API keys are on: export JOBCAST_API_KEY=<one of them> first; the CLI reads it too)',
      );
  }
  console.log([...banner, ''].join('\n'));
  return { api, worker, localRedis };
}

/**
 * Whether the API says it is ready (`/readyz`: Redis answers), within a moment. Over TLS the
 * certificate may be one this process does not trust: then it does not ask, and says yes.
 */
async function isReady(apiUrl: string): Promise<boolean> {
  if (apiUrl.startsWith('https:')) return true;
  try {
    const res = await fetch(`${apiUrl}/readyz`, { signal: AbortSignal.timeout(3_000) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}
