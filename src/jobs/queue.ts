/**
 * @module jobs/queue
 * The BullMQ queue every job goes through: its name, its key prefix, and the options each job
 * is added with.
 */
import { type JobsOptions, Queue } from 'bullmq';
import type { RedisClient } from '../redis.js';
import { bullPrefix } from './keys.js';
import type { JobOptions } from './schemas.js';

export interface QueueSettings {
  prefix: string;
  queueName: string;
  retentionSeconds: number;
}

/**
 * The API's queue. It neither waits for Redis to be ready nor reads its version first: BullMQ
 * would otherwise hold every call until Redis first answers (forever, when the API starts
 * without Redis), and a version check that timed out would break the queue for good. Calls go
 * straight to the connection, whose command timeout turns an absent Redis into a 503.
 */
export function createQueue(connection: RedisClient, settings: QueueSettings): Queue {
  return new Queue(settings.queueName, {
    connection,
    prefix: bullPrefix(settings.prefix),
    skipWaitingForReady: true,
    skipVersionCheck: true,
  });
}

/**
 * BullMQ options of a job submitted with `options`. `createdAt` (the record's) becomes BullMQ's
 * timestamp, so a delayed job is due at exactly the record's `runAt`.
 */
export function bullJobOptions(
  id: string,
  options: JobOptions,
  retentionSeconds: number,
  createdAt?: number,
): JobsOptions {
  return {
    jobId: id,
    ...(createdAt === undefined ? {} : { timestamp: createdAt }),
    attempts: options.attempts,
    backoff: { type: 'exponential', delay: options.backoffMs },
    delay: options.delayMs,
    priority: options.priority,
    // BullMQ evicts finished jobs when another finishes; our record expires on its own.
    removeOnComplete: { age: retentionSeconds },
    removeOnFail: { age: retentionSeconds },
  };
}
