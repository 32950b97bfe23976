/**
 * @module main
 * `npm run start:api`: one API process against REDIS_URL (for scale-out).
 */
import { loadConfigOrExit } from './config.js';
import { loadJobTypesOrExit } from './jobs/load.js';
import { requireRedisUrl, startOrExit, stopOnSignals } from './lifecycle.js';
import { createLogger } from './log.js';
import { startApi } from './server.js';

const config = loadConfigOrExit(process.env);
const jobTypes = await loadJobTypesOrExit(config.JOB_TYPES);
const log = createLogger(config.LOG_LEVEL, { role: 'api' }, config.LOG_FORMAT);
const redisUrl = requireRedisUrl(config.REDIS_URL, log);
const api = await startOrExit(() => startApi(config, redisUrl, log, { jobTypes }), log);
stopOnSignals({ stop: () => api.close(), log, hardLimitMs: config.SHUTDOWN_TIMEOUT_MS + 5_000 });
