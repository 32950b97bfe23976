/**
 * @module jobs/resource
 * What a job record looks like from outside: the job resource (`GET /jobs/{id}`), and the
 * progress and done events a record stands for (what a stream sends on connect).
 */

import { webhookView } from '../webhooks/view.js';
import { type DerivedProgress, iso, type JobEvent, type ProgressTuple, progressData } from './events.js';
import type { JobResource } from './schemas.js';
import { isStalled, type StallFacts } from './stall.js';
import type { JobRecord } from './store.js';

/** The record's progress fields, as the scripts publish them. */
export function recordTuple(record: JobRecord): ProgressTuple {
  return [
    record.state,
    record.progress,
    record.attempt,
    record.at,
    record.message ?? '',
    record.rate ?? '',
    record.eta ?? '',
    record.details ?? '',
    record.ivl ?? '',
  ];
}

/** What the stall signal looks at, from a record. */
export function recordStallFacts(record: Pick<JobRecord, 'state' | 'at' | 'ivl'>): StallFacts {
  return { state: record.state, atMs: Number(record.at), intervalMs: record.ivl ? Number(record.ivl) : undefined };
}

/** The progress event a record stands for, with what was worked out about it (`derived`). */
export function recordProgressEvent(record: JobRecord, derived: DerivedProgress = {}): JobEvent {
  return {
    jobId: record.id,
    seq: Number(record.pseq),
    event: 'progress',
    data: progressData(record.id, recordTuple(record), derived),
  };
}

/** The done event of a finished job's record. */
export function recordDoneEvent(record: JobRecord): JobEvent | undefined {
  if (!record.dseq || !record.done) return undefined;
  return { jobId: record.id, seq: Number(record.dseq), event: 'done', data: record.done };
}

export interface ResourceOptions {
  /** Appended to the events link (e.g. a stream token), so a browser can open it as is. */
  eventsQuery?: string;
  /** STALL_AFTER_MS: with it, a running job says whether it is `stalled`. */
  stallAfterMs?: number;
  /** A queued job's place in the queue (`jobs/queue-positions`). */
  queued?: DerivedProgress | undefined;
  now?: number;
}

/** The public job resource. */
export function toResource(record: JobRecord, options: ResourceOptions = {}): JobResource {
  const done = record.done ? (JSON.parse(record.done) as { result?: unknown; error?: string }) : {};
  const self = `/jobs/${record.id}`;
  const resource: JobResource = {
    id: record.id,
    type: record.type,
    state: record.state,
    progress: Number(record.progress),
    attempts: Number(record.attempt),
    maxAttempts: Number(record.maxAttempts),
    createdAt: iso(record.createdAt),
    links: {
      self,
      events: `${self}/events${options.eventsQuery ?? ''}`,
      cancel: `${self}/cancel`,
      logs: `${self}/logs`,
    },
  };
  if (record.message) resource.message = record.message;
  if (record.details) resource.details = JSON.parse(record.details) as Record<string, unknown>;
  const stalled =
    record.state === 'active' && options.stallAfterMs !== undefined
      ? isStalled(recordStallFacts(record), options.now ?? Date.now(), options.stallAfterMs)
      : undefined;
  if (record.state === 'active' && record.rate) {
    resource.rate = Number(record.rate);
    // A stalled job has no ETA (as its events).
    if (record.eta && stalled !== true) resource.eta = iso(record.eta);
  }
  if (record.state === 'queued' && options.queued) {
    const { queuePosition, expectedStartAt } = options.queued;
    if (queuePosition !== undefined) resource.queuePosition = queuePosition;
    if (expectedStartAt !== undefined) resource.expectedStartAt = iso(expectedStartAt);
  }
  if (stalled !== undefined) resource.stalled = stalled;
  if (record.tags) resource.tags = JSON.parse(record.tags) as string[];
  if (done.result !== undefined) resource.result = done.result;
  if (done.error !== undefined) resource.error = done.error;
  if (record.runAt && record.state === 'queued' && !record.startedAt) resource.runAt = iso(record.runAt);
  if (record.startedAt) resource.startedAt = iso(record.startedAt);
  if (record.finishedAt) resource.finishedAt = iso(record.finishedAt);
  // webhooks (#17): the job's webhook (never its secret) and where its deliveries stand.
  const webhook = webhookView(record);
  if (webhook) {
    resource.webhook = webhook;
    resource.links.webhooks = `${self}/webhooks`;
  }
  return resource;
}
