/**
 * @module openapi/webhooks
 * The requests jobcast sends (#17): OpenAPI 3.1's top-level `webhooks`, one entry for every
 * delivery — what a receiver must accept, verify and answer.
 *
 * @example
 * (webhookItems().jobEvent as any).post.requestBody.content['application/json'].schema
 * // { $ref: '#/components/schemas/WebhookPayload' }
 */
import { type Json, json, ref } from './refs.js';

const header = (name: string, description: string, pattern: string): Json => ({
  name,
  in: 'header',
  required: true,
  description,
  schema: { type: 'string', pattern },
});

export const webhookItems = (): Record<string, Json> => ({
  jobEvent: {
    post: {
      operationId: 'receiveJobEvent',
      summary: "A job's event, delivered to its webhook",
      description:
        'Sent to the `webhook.url` of a job submitted with one, for each event kind it asked for: `job.done` once, `job.progress` at most once per `WEBHOOK_PROGRESS_MIN_MS` (the latest state), `job.log` per line. Signed per the Standard Webhooks specification: verify `webhook-signature` (HMAC-SHA256 of `<webhook-id>.<webhook-timestamp>.<raw body>` with the bytes of the `whsec_` secret; during a secret rotation it carries two space-separated signatures, one per secret) before trusting the body, and reject old timestamps. Delivery is at least once: the same `webhook-id` can arrive more than once; drop repeats. Events of one job may arrive out of order (use `data.at`). Any 2xx ends a delivery; 410 Gone stops all deliveries of the job; anything else, or no answer within `WEBHOOK_TIMEOUT_MS`, is retried with exponential backoff up to `WEBHOOK_MAX_ATTEMPTS`. Redirects are not followed.',
      tags: ['jobs'],
      parameters: [
        header('webhook-id', 'The delivery: the same on every attempt.', '^[\\w.-]+$'),
        header('webhook-timestamp', 'When this attempt was signed (seconds since the epoch).', '^\\d+$'),
        header(
          'webhook-signature',
          '`v1,<base64 HMAC-SHA256>`; two, space-separated, during a secret rotation.',
          '^v1,[A-Za-z0-9+/=]+( v1,[A-Za-z0-9+/=]+)*$',
        ),
      ],
      requestBody: { required: true, content: json(ref('schemas', 'WebhookPayload')) },
      // The receiver's side: it checks the signature headers, which no OpenAPI scheme models.
      security: [],
      responses: {
        200: { description: 'Any 2xx: received; this delivery is done.' },
        410: { description: 'Gone: send nothing more for this job (its webhook is disabled).' },
      },
    },
  },
});
