/**
 * @module workers/webhook-delivery
 * One attempt of one delivery, and what follows from its answer:
 * - a 2xx: delivered, done;
 * - 410 Gone: the receiver wants no more; the job's webhook is disabled (its other deliveries
 *   are not sent), and this one is not retried;
 * - anything else (another status, a timeout, a refused connection, a URL the policy now
 *   refuses): retried by BullMQ after `retryDelayMs`, until WEBHOOK_MAX_ATTEMPTS.
 * Each attempt is recorded for `GET /jobs/{id}/webhooks`. The body is built once per delivery
 * and its `webhook-id` is the delivery's id, so every attempt carries the same message.
 */
import { type Job, type MinimalJob, UnrecoverableError } from 'bullmq';
import type { Config } from '../src/config.js';
import { iso } from '../src/jobs/events.js';
import { recordProgressEvent } from '../src/jobs/resource.js';
import type { JobStore } from '../src/jobs/store.js';
import type { DeliveryEntry, DeliveryLog } from '../src/webhooks/deliveries.js';
import type { AttemptResult, WebhookMetrics } from '../src/webhooks/metrics.js';
import { type DeliveryData, deliveryName, retryDelayMs } from '../src/webhooks/queue.js';
import type { WebhookSigner } from '../src/webhooks/signing.js';
import { type UrlPolicy, WebhookHostUnresolved, WebhookUrlRefused } from '../src/webhooks/url-policy.js';
import { AttemptError, type WebhookHttp } from './webhook-http.js';

/** Thrown for an attempt to be retried (BullMQ moves the delivery back to delayed). */
export class AttemptFailed extends Error {
  override name = 'AttemptFailed';
}

/** What a message quotes of a receiver's answer. */
const QUOTED_BODY_CHARS = 200;

export interface SenderDeps {
  config: Config;
  store: JobStore;
  deliveries: DeliveryLog;
  signer: WebhookSigner;
  policy: UrlPolicy;
  http: WebhookHttp;
  metrics: WebhookMetrics;
}

export class WebhookSender {
  readonly #deps: SenderDeps;
  /**
   * The delay chosen for a failed attempt, for BullMQ's backoff strategy to return (it is
   * asked right after the processor throws, with the same Job object): the next attempt's
   * time is then recorded exactly.
   */
  readonly #plannedDelay = new WeakMap<MinimalJob, number>();

  constructor(deps: SenderDeps) {
    this.#deps = deps;
  }

  /** BullMQ's custom backoff strategy: the planned delay, or the schedule's. */
  backoff = (attemptsMade: number, _type?: string, _error?: Error, job?: MinimalJob): number =>
    (job && this.#plannedDelay.get(job)) ?? retryDelayMs(attemptsMade, this.#deps.config.WEBHOOK_RETRY_BASE_MS);

  /** The BullMQ processor: one attempt. */
  deliver = async (job: Job<DeliveryData>): Promise<{ status: number } | { skipped: string }> => {
    const { config, store, deliveries, signer, policy, http, metrics } = this.#deps;
    const delivery = job.data;
    const id = job.id as string;
    const attempt = Math.max(job.attemptsStarted, job.attemptsMade + 1);
    const entry = (
      fields: Omit<DeliveryEntry, 'type' | 'attempts' | 'createdAt'>,
      attempts = attempt,
    ): DeliveryEntry => ({
      type: deliveryName(delivery.event),
      attempts,
      createdAt: job.timestamp,
      ...fields,
    });
    /** Settled without this attempt: it counts only the attempts made before. */
    const unsent = (status: 'disabled' | 'superseded', lastError: string) =>
      deliveries.unsent(delivery.jobId, id, entry({ status, lastError }, job.attemptsMade));

    let { data, at } = delivery;
    // A progress delivery's first attempt reads the whole record; others only two fields.
    const record = data === undefined ? await store.get(delivery.jobId) : undefined;
    const { disabled, newestTick } = record
      ? { disabled: record.whOff, newestTick: record.whP === undefined ? undefined : Number(record.whP) }
      : await deliveries.state(delivery.jobId);
    if (disabled) {
      await unsent('disabled', `not sent: the webhook was disabled (${disabled})`);
      metrics.ended('disabled');
      return { skipped: 'webhook disabled' };
    }
    // Progress is state: a failed progress delivery is not retried once a newer one is queued
    // (a receiver that was down gets the latest state, not a backlog of old ones). A first
    // attempt always goes: it reads the state as it is now.
    const retry = job.attemptsMade > 0;
    if (retry && delivery.tick !== undefined && newestTick !== undefined && newestTick > delivery.tick) {
      await unsent('superseded', 'not retried: a newer progress delivery replaces it');
      metrics.ended('superseded');
      return { skipped: 'superseded' };
    }
    if (data === undefined) {
      // A progress delivery's first attempt: the job's state now is what it reports.
      if (!record) {
        metrics.ended('skipped');
        return { skipped: 'the job is gone' };
      }
      data = recordProgressEvent(record).data;
      at = Number(record.at);
      await job.updateData({ ...delivery, data, at });
    }
    const eventAt = at ?? job.timestamp;
    // `data` is the stream event's JSON as it is, not re-encoded.
    const body = `{"type":${JSON.stringify(deliveryName(delivery.event))},"timestamp":${JSON.stringify(iso(eventAt))},"data":${data}}`;

    const now = () => Date.now();
    const fail = async (result: AttemptResult, reason: string, code?: number): Promise<never> => {
      metrics.attempted(result);
      const last = job.attemptsMade + 1 >= config.WEBHOOK_MAX_ATTEMPTS;
      const delay = last ? undefined : retryDelayMs(job.attemptsMade + 1, config.WEBHOOK_RETRY_BASE_MS);
      if (delay !== undefined) this.#plannedDelay.set(job, delay);
      const at = now();
      await deliveries.attempted(
        delivery.jobId,
        id,
        entry({
          status: last ? 'failed' : 'pending',
          lastAttemptAt: at,
          lastError: reason,
          ...(code === undefined ? {} : { lastResponseCode: code }),
          ...(delay === undefined ? {} : { nextAttemptAt: at + delay }),
        }),
      );
      if (last) metrics.ended('failed');
      throw new AttemptFailed(reason);
    };

    let url: URL;
    let address: Awaited<ReturnType<UrlPolicy['resolve']>>;
    try {
      url = policy.parse(delivery.url);
      address = await policy.resolve(url, config.WEBHOOK_TIMEOUT_MS);
    } catch (error) {
      if (error instanceof WebhookUrlRefused) return fail('refused', `refused: ${error.message}`);
      if (error instanceof WebhookHostUnresolved) return fail('network', error.message);
      throw error;
    }

    const headers = signer.headers(id, Math.floor(now() / 1000), body);
    let answer: Awaited<ReturnType<WebhookHttp['post']>>;
    try {
      answer = await http.post(url, address, { ...headers }, body, config.WEBHOOK_TIMEOUT_MS);
    } catch (error) {
      if (error instanceof AttemptError) return fail(error.kind, error.message);
      throw error;
    }
    const { status } = answer;
    if (status >= 200 && status < 300) {
      metrics.attempted('2xx');
      metrics.ended('delivered');
      metrics.delivered(delivery.event, Math.max(0, now() - eventAt) / 1000);
      const at = now();
      await deliveries.attempted(
        delivery.jobId,
        id,
        entry({ status: 'delivered', lastAttemptAt: at, lastResponseCode: status, deliveredAt: at }),
      );
      return { status };
    }
    if (status === 410) {
      metrics.attempted('4xx');
      metrics.ended('disabled');
      const reason = 'the receiver answered 410 Gone';
      await deliveries.attempted(
        delivery.jobId,
        id,
        entry({ status: 'disabled', lastAttemptAt: now(), lastResponseCode: 410, lastError: reason }),
        reason,
      );
      throw new UnrecoverableError(reason);
    }
    const quoted = answer.body
      // biome-ignore lint/suspicious/noControlCharactersInRegex: a receiver's control characters stay out of messages.
      .replace(/[\u0000-\u001f\u007f]+/g, ' ')
      .trim()
      .slice(0, QUOTED_BODY_CHARS);
    const result: AttemptResult = status >= 500 ? '5xx' : status >= 400 ? '4xx' : '3xx';
    const redirect = status >= 300 && status < 400 ? ' (redirects are not followed)' : '';
    return fail(result, `the receiver answered ${status}${redirect}${quoted ? `: ${quoted}` : ''}`, status);
  };
}
