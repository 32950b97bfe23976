/**
 * @module main
 * `npm run start:api`: the API against REDIS_URL (for scale-out) — one process, or with
 * API_PROCESSES=N a primary and N API processes on one port (`cluster/primary`). The API
 * processes of a cluster run this module too.
 */
import cluster from 'node:cluster';
import { checkSettingFiles } from './config/files.js';
import { loadConfigOrExit, orExitOnConfigError } from './config.js';
import { requireRedisUrl, startOrExit, stopOnSignals } from './lifecycle.js';
import { createLogger } from './log.js';

const config = loadConfigOrExit(process.env);
orExitOnConfigError(() => checkSettingFiles(config));
const hardLimitMs = config.SHUTDOWN_TIMEOUT_MS + 5_000;

if (cluster.isPrimary && config.API_PROCESSES > 1) {
  const log = createLogger(config.LOG_LEVEL, { role: 'primary' }, config.LOG_FORMAT);
  requireRedisUrl(config.REDIS_URL, log);
  // Imported here, not above: the primary never serves a request, so it loads no hono, bullmq
  // or Redis client, and an API process never loads this (a start costs the modules it loads).
  const { startApiProcesses } = await import('./cluster/primary.js');
  // Signals first: a Ctrl-C while the processes start still stops them all.
  let processes: ReturnType<typeof startApiProcesses> | undefined;
  stopOnSignals({ stop: async () => (await processes)?.close(), log, hardLimitMs });
  processes = startApiProcesses({ count: config.API_PROCESSES, log });
  // One that could not start said why (a port in use…); nothing is left running.
  await startOrExit(() => processes as Promise<unknown>, log);
} else {
  const log = createLogger(
    config.LOG_LEVEL,
    // A cluster's processes are numbered as they were started (a replacement gets the next number).
    cluster.worker ? { role: 'api', process: cluster.worker.id } : { role: 'api' },
    config.LOG_FORMAT,
  );
  const [{ joinCluster }, { loadJobTypesOrExit }, { startApi }] = await Promise.all([
    import('./cluster/api-process.js'),
    import('./jobs/load.js'),
    import('./server.js'),
  ]);
  const side = cluster.isWorker ? joinCluster(log, hardLimitMs) : undefined;
  const jobTypes = await loadJobTypesOrExit(config.JOB_TYPES);
  const redisUrl = requireRedisUrl(config.REDIS_URL, log);
  const api = await startOrExit(
    () => startApi(config, redisUrl, log, { jobTypes, metricsText: side?.metricsText }),
    log,
  );
  if (side) side.serving(api);
  else stopOnSignals({ stop: () => api.close(), log, hardLimitMs });
}
