/**
 * @module jobs/service
 * What the REST routes do with jobs, independent of HTTP: validate a submission against the
 * job type's schema, write the record, enqueue; read a job back.
 */
import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import { ProblemError, validationProblem } from '../problems.js';
import { bullJobOptions } from './queue.js';
import { isJobType, jobTypeNames, jobTypes } from './registry.js';
import { JobId, JobOptions, type JobResource, SubmitJobEnvelope } from './schemas.js';
import { type JobStore, toResource } from './store.js';

export interface ServiceOptions {
  retentionSeconds: number;
}

export class JobService {
  constructor(
    readonly store: JobStore,
    readonly queue: Queue,
    readonly options: ServiceOptions,
  ) {}

  /** Validates and enqueues a job. Nothing is written unless every check passes. */
  async submit(body: unknown): Promise<JobResource> {
    const envelope = SubmitJobEnvelope.safeParse(body);
    if (!envelope.success) throw validationProblem(envelope.error, '');
    const { type } = envelope.data;
    if (!isJobType(type)) {
      throw new ProblemError(
        'unknown-job-type',
        `unknown job type ${JSON.stringify(type)}; known types: ${jobTypeNames.join(', ')}`,
        {
          extensions: { knownTypes: jobTypeNames },
        },
      );
    }
    const data = jobTypes[type].input.safeParse(envelope.data.data ?? {});
    if (!data.success) throw validationProblem(data.error, 'data');
    const options = envelope.data.options ?? JobOptions.parse({});

    const id = randomUUID();
    const createdAt = Date.now();
    // Record first, so a worker that takes the job at once finds it; both commands go out on
    // one connection, in this order, without waiting for each other.
    const { record, written } = this.store.create({ id, type, maxAttempts: options.attempts, createdAt });
    const added = this.queue.add(type, data.data, bullJobOptions(id, options, this.options.retentionSeconds));
    try {
      await Promise.all([written, added]);
    } catch (error) {
      await this.store.discard(id).catch(() => {});
      throw new ProblemError('unavailable', 'the job could not be enqueued; try again', { cause: error });
    }
    return toResource(record);
  }

  async get(id: string): Promise<JobResource> {
    const record = JobId.safeParse(id).success ? await this.store.get(id) : undefined;
    if (!record) throw jobNotFound(id);
    return toResource(record);
  }
}

export function jobNotFound(id: string): ProblemError {
  return new ProblemError('job-not-found', `no job with id ${JSON.stringify(id)}`);
}
