/**
 * @module webhooks/schemas
 * The public shapes of webhooks: what a submission asks for, what the job resource shows, the
 * deliveries `GET /jobs/{id}/webhooks` lists, and the body a receiver gets. `jobs/schemas`
 * puts the first two into the job's request and resource; `openapi.yaml` is generated from all.
 *
 * Glossary:
 * - **webhook**: a job's receiver URL and the event kinds it wants.
 * - **delivery**: one event sent to it; its id is the `webhook-id` header, the same on every
 *   attempt, so a receiver can drop repeats (delivery is at least once).
 */
import { z } from 'zod';

/** Event kinds a webhook can ask for: the stream's own events (`reset` is a stream matter only). */
export const WEBHOOK_EVENTS = ['progress', 'log', 'done'] as const;
export const WebhookEventName = z.enum(WEBHOOK_EVENTS);
export type WebhookEventName = z.infer<typeof WebhookEventName>;

/** The `type` of a delivery's body: `job.<event>` (Standard Webhooks: dot-separated, noun first). */
export const DeliveryType = z.enum(['job.progress', 'job.log', 'job.done']);
export type DeliveryType = z.infer<typeof DeliveryType>;

/** Longest receiver URL accepted (browsers and proxies agree on about 2 KB). */
export const MAX_WEBHOOK_URL_LENGTH = 2_048;

/** `webhook` of a submission: where to send the job's events, and which. */
export const WebhookRequest = z
  .object({
    url: z
      .string()
      .min(1)
      .max(MAX_WEBHOOK_URL_LENGTH)
      .describe(
        'The receiver: an `https://` URL on a public address (http and private addresses only where the server allows them).',
      ),
    events: z
      .array(WebhookEventName)
      .min(1)
      .max(WEBHOOK_EVENTS.length)
      .refine((events) => new Set(events).size === events.length, 'list each event once')
      .default(['done'])
      .describe('Event kinds to deliver. `progress` is throttled (latest state wins); `done` is always delivered.'),
  })
  .strict()
  .describe(
    "Deliver the job's events to this URL (Standard Webhooks signatures). `null` opts out of a configured default.",
  );
export type WebhookRequest = z.output<typeof WebhookRequest>;

export const DeliveryStatus = z
  .enum(['pending', 'delivered', 'failed', 'disabled', 'superseded'])
  .describe(
    'pending (queued, or waiting for a retry) → delivered (a 2xx) | failed (attempts used up) | disabled (the receiver answered 410 Gone, for this or an earlier delivery) | superseded (a failed progress delivery not retried because a newer one carries a later state).',
  );
export type DeliveryStatus = z.infer<typeof DeliveryStatus>;

/** `webhook` of the job resource (the signing secret is never shown). */
export const Webhook = z
  .object({
    url: z.string().describe('The receiver, with any password in it masked.'),
    events: z.array(WebhookEventName),
    status: z
      .enum(['active', 'disabled'])
      .describe('disabled once the receiver answered 410 Gone: nothing more is sent for this job.'),
    disabledReason: z.string().optional(),
    deliveries: z
      .object({
        pending: z.int().min(0),
        delivered: z.int().min(0),
        failed: z.int().min(0).describe('Given up, or not sent because the webhook was disabled.'),
        superseded: z.int().min(0).describe('Progress deliveries replaced by a newer one before they got through.'),
      })
      .describe('Deliveries so far, by outcome.'),
    lastResponseCode: z.int().optional().describe("The receiver's status code at the latest attempt."),
    lastAttemptAt: z.iso.datetime().optional(),
  })
  .describe("The job's webhook and the state of its deliveries; `links.webhooks` lists them.");
export type Webhook = z.infer<typeof Webhook>;

/** One delivery, as `GET /jobs/{id}/webhooks` lists it. */
export const WebhookDelivery = z.object({
  id: z.string().describe('The `webhook-id` header: the same on every attempt of this delivery.'),
  type: DeliveryType,
  status: DeliveryStatus,
  attempts: z.int().min(0).describe('Attempts made so far.'),
  createdAt: z.iso.datetime(),
  lastAttemptAt: z.iso.datetime().optional(),
  lastResponseCode: z.int().optional().describe("The receiver's status code at the latest attempt, if it answered."),
  lastError: z.string().optional().describe('Why the latest attempt failed (timeout, connection refused, status).'),
  nextAttemptAt: z.iso.datetime().optional().describe('When the next attempt is due (pending deliveries).'),
  deliveredAt: z.iso.datetime().optional(),
});
export type WebhookDelivery = z.infer<typeof WebhookDelivery>;

/** Deliveries kept per job for listing (the newest); older ones are still delivered, just not listed. */
export const MAX_DELIVERIES_LISTED = 200;

export const WebhookDeliveries = z.object({
  items: z.array(WebhookDelivery).describe('Oldest first.'),
  truncated: z
    .boolean()
    .describe(`True when older deliveries are no longer listed (only the newest ${MAX_DELIVERIES_LISTED} are).`),
});
export type WebhookDeliveries = z.infer<typeof WebhookDeliveries>;

/** The body of every delivery (Standard Webhooks' recommended shape). */
export const WebhookPayload = z
  .object({
    type: DeliveryType,
    timestamp: z.iso.datetime().describe('When the event happened (its `at`).'),
    data: z.unknown().describe("Exactly the stream event's data: a ProgressEvent, LogEvent or DoneEvent."),
  })
  .describe(
    'What a receiver gets, signed with the `webhook-id`, `webhook-timestamp` and `webhook-signature` headers (Standard Webhooks).',
  );
export type WebhookPayload = z.infer<typeof WebhookPayload>;
