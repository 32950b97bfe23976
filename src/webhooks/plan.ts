/**
 * @module webhooks/plan
 * Which deliveries a job's events make: their ids (deterministic, see `webhooks/keys`), what
 * they carry and when they are due. Pure; `webhooks/outbox` queues what this plans.
 *
 * Progress is throttled on a grid that starts when the job starts: tick n is due at
 * start + n × WEBHOOK_PROGRESS_MIN_MS, every progress event between two ticks maps to the later
 * one, and that delivery reads the job's state when it is sent. So a job gets at most one
 * progress delivery per WEBHOOK_PROGRESS_MIN_MS, each with the latest state, whichever process
 * reported it, and the same tick planned twice is one delivery.
 */
import { deliveryId } from './keys.js';
import type { DeliveryData } from './queue.js';
import type { WebhookEventName } from './schemas.js';

/** A delivery to queue: its id, its BullMQ data, when it is due (ms). */
export interface Planned {
  id: string;
  data: DeliveryData;
  dueAt: number;
}

/** A job's webhook, as planning needs it. */
export interface WebhookTarget {
  url: string;
  events: ReadonlySet<WebhookEventName>;
  /** Where the progress grid starts (ms): the job's first start, or its creation. */
  anchor: number;
}

/** The tick of the progress grid at or after `at`. */
export const tickAt = (at: number, anchor: number, progressMinMs: number): number =>
  Math.max(0, Math.ceil((at - anchor) / progressMinMs));

export function progressDelivery(jobId: string, target: WebhookTarget, tick: number, progressMinMs: number): Planned {
  return {
    id: deliveryId(jobId, 'progress', tick),
    data: { jobId, event: 'progress', url: target.url, tick },
    dueAt: target.anchor + tick * progressMinMs,
  };
}

/** A log line's delivery; `data` is the stream's log event JSON. */
export function logDelivery(jobId: string, url: string, seq: number, data: string, fallbackAt: number): Planned {
  const at = Date.parse((JSON.parse(data) as { at?: string }).at ?? '');
  return {
    id: deliveryId(jobId, 'log', seq),
    data: { jobId, event: 'log', url, data, at: Number.isNaN(at) ? fallbackAt : at },
    dueAt: 0,
  };
}

/** What a finished job's webhook gets at its end: `done`, and the last progress tick. */
export function endDeliveries(
  jobId: string,
  target: WebhookTarget,
  done: string,
  end: number,
  progressMinMs: number,
): Planned[] {
  const planned: Planned[] = [];
  if (target.events.has('done')) {
    planned.push({
      id: deliveryId(jobId, 'done'),
      data: { jobId, event: 'done', url: target.url, data: done, at: end },
      dueAt: end,
    });
  }
  if (target.events.has('progress')) {
    planned.push(progressDelivery(jobId, target, tickAt(end, target.anchor, progressMinMs), progressMinMs));
  }
  return planned;
}

/** A kept log entry (`<seq>\n<log event JSON>`, see `jobs/keys`) as its seq and data. */
export function logEntry(entry: string): { seq: number; data: string } {
  const cut = entry.indexOf('\n');
  return { seq: Number(entry.slice(0, cut)), data: entry.slice(cut + 1) };
}
