/**
 * @module openapi/examples/webhooks
 * Examples of `GET /jobs/{id}/webhooks`: a delivery that succeeded on its second attempt, one
 * waiting for its next attempt, and a job without a webhook.
 */
import { type Example, exampleIds } from './story.js';

const { quick } = exampleIds;

/** `200` of `GET /jobs/{id}/webhooks`. */
export const webhookDeliveryExamples = {
  retried: {
    summary: 'A `done` delivered on its second attempt (the receiver answered 500 first)',
    value: {
      items: [
        {
          id: `${quick}.done`,
          type: 'job.done',
          status: 'delivered',
          attempts: 2,
          createdAt: '2026-12-06T07:00:30.476Z',
          lastAttemptAt: '2026-12-06T07:00:35.012Z',
          lastResponseCode: 200,
          deliveredAt: '2026-12-06T07:00:35.019Z',
        },
      ],
      truncated: false,
    },
  },
  waiting: {
    summary: 'A `done` waiting for its next attempt (the receiver was unreachable)',
    value: {
      items: [
        {
          id: `${quick}.done`,
          type: 'job.done',
          status: 'pending',
          attempts: 1,
          createdAt: '2026-12-06T07:00:30.476Z',
          lastAttemptAt: '2026-12-06T07:00:30.481Z',
          lastError: 'connect ECONNREFUSED',
          nextAttemptAt: '2026-12-06T07:00:35.481Z',
        },
      ],
      truncated: false,
    },
  },
  none: { summary: 'A job without a webhook', value: { items: [], truncated: false } },
} satisfies Record<string, Example>;
