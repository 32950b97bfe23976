/**
 * @module workers/main
 * `npm run start:worker`: one worker process against REDIS_URL (for scale-out).
 */
import { loadConfigOrExit } from '../src/config.js';
import { requireRedisUrl, stopOnSignals } from '../src/lifecycle.js';
import { createLogger } from '../src/log.js';
import { startWorker } from './runner.js';

const config = loadConfigOrExit(process.env);
const log = createLogger(config.LOG_LEVEL, { role: 'worker' });
const worker = await startWorker(config, requireRedisUrl(config.REDIS_URL, log), log);
stopOnSignals(() => worker.close(), log, config.SHUTDOWN_TIMEOUT_MS + 5_000);
