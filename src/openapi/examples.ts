/**
 * @module openapi/examples
 * Hand-written examples of every request and response of the API, copied from what a running
 * jobcast answered (ids and times made consistent across them): one story of a few jobs,
 * told by every operation. Swagger UI's "Try it out" prefills each request body with its
 * first example, so the first `POST /jobs` and `POST /jobs/batch` examples run to
 * `completed` in about a second.
 *
 * `test/openapi-examples.test.ts` checks every example against its schema, against the rules
 * a schema cannot state (a queued job has progress 0 and no `startedAt`, times are ordered…),
 * and against what a live server answers to the example requests.
 *
 * @example
 * submitExamples.fiveSteps.value // { type: 'simulate', data: { steps: 5, stepMs: 200 } }
 */
import { GroupSummary } from '../events/summary.js';
import { encodeEvent, encodeRetry } from '../sse.js';
import type { Json } from './refs.js';

/** An OpenAPI Example Object. */
export interface Example {
  summary: string;
  description?: string;
  value: unknown;
}

/** The jobs of the story (random v4 UUIDs, as the API makes them). */
export const exampleIds = {
  /** Five steps of 200 ms: submitted, watched, completed. */
  quick: '6f1c2b9e-4d3a-4e7b-9a58-0c2e1d7f3b64',
  /** Submitted beside `quick` in a batch, with priority 1: three steps of 300 ms. */
  second: 'b2e4d6f8-1a3c-4e5f-8a7b-9c0d1e2f3a4b',
  /** Delayed a minute, then cancelled while it waited. */
  delayed: '0d9e8f7a-6b5c-4d3e-a2f1-e0d9c8b7a6f5',
  /** Fails at step 3 on both of its attempts. */
  failing: 'c4a7e2d1-93b8-4f06-b5e1-7d2c8a9f0e36',
} as const;

const { quick, second, delayed, failing } = exampleIds;

const links = (id: string) => ({
  self: `/jobs/${id}`,
  events: `/jobs/${id}/events`,
  cancel: `/jobs/${id}/cancel`,
  logs: `/jobs/${id}/logs`,
});

// ---- Requests ----

/** `POST /jobs` bodies; the first is what "Try it out" sends. */
export const submitExamples = {
  fiveSteps: {
    summary: 'Five steps of 200 ms (done in about a second)',
    value: { type: 'simulate', data: { steps: 5, stepMs: 200 } },
  },
  defaults: { summary: 'Every default: 10 steps of 200 ms', value: { type: 'simulate' } },
  withOptions: {
    summary: 'Delayed a minute, high priority, up to 3 attempts, tagged',
    value: {
      type: 'simulate',
      data: { steps: 20, stepMs: 500 },
      options: { attempts: 3, backoffMs: 2000, delayMs: 60000, priority: 1 },
      tags: ['nightly', 'customer:42'],
    },
  },
  failing: {
    summary: 'Fails at step 3, on each of 2 attempts',
    value: {
      type: 'simulate',
      data: { steps: 4, stepMs: 100, failAtStep: 3 },
      options: { attempts: 2, backoffMs: 100 },
    },
  },
} satisfies Record<string, Example>;

/** `POST /jobs/batch` bodies. */
export const batchExamples = {
  twoJobs: {
    summary: 'Two jobs, the second one first',
    value: {
      jobs: [
        { type: 'simulate', data: { steps: 5, stepMs: 200 } },
        { type: 'simulate', data: { steps: 3, stepMs: 300 }, options: { priority: 1 } },
      ],
    },
  },
} satisfies Record<string, Example>;

/** `POST /events/tokens` bodies. */
export const tokenRequestExamples = {
  twoJobs: { summary: 'A token for two jobs', value: { jobs: [quick, second] } },
} satisfies Record<string, Example>;

// ---- Job resources ----

const quickQueued = {
  id: quick,
  type: 'simulate',
  state: 'queued',
  progress: 0,
  attempts: 0,
  maxAttempts: 1,
  createdAt: '2026-12-06T07:00:29.458Z',
  links: links(quick),
};
/** Queued behind another job, as `GET /jobs/{id}` says while it waits. */
const quickWaiting = { ...quickQueued, queuePosition: 2, expectedStartAt: '2026-12-06T07:00:30.158Z' };
const quickActive = {
  ...quickQueued,
  state: 'active',
  progress: 60,
  attempts: 1,
  message: 'step 3 of 5',
  rate: 99.32,
  eta: '2026-12-06T07:00:30.473Z',
  stalled: false,
  startedAt: '2026-12-06T07:00:29.466Z',
};
const { rate: _rate, eta: _eta, stalled: _stalled, ...quickWithoutPace } = quickActive;
const quickCompleted = {
  ...quickWithoutPace,
  state: 'completed',
  progress: 100,
  message: 'step 5 of 5',
  result: { steps: 5 },
  startedAt: '2026-12-06T07:00:29.466Z',
  finishedAt: '2026-12-06T07:00:30.474Z',
};
const secondQueued = { ...quickQueued, id: second, links: links(second) };
const secondCompleted = {
  ...secondQueued,
  state: 'completed',
  progress: 100,
  attempts: 1,
  message: 'step 3 of 3',
  result: { steps: 3 },
  startedAt: '2026-12-06T07:00:29.463Z',
  finishedAt: '2026-12-06T07:00:30.371Z',
};
const delayedQueued = {
  id: delayed,
  type: 'simulate',
  state: 'queued',
  progress: 0,
  attempts: 0,
  maxAttempts: 3,
  createdAt: '2026-12-06T07:00:19.191Z',
  links: links(delayed),
  tags: ['nightly', 'customer:42'],
  runAt: '2026-12-06T07:01:19.191Z',
};
const { runAt: _, ...delayedWithoutRunAt } = delayedQueued;
const delayedCancelled = {
  ...delayedWithoutRunAt,
  state: 'cancelled',
  error: 'cancelled by request',
  finishedAt: '2026-12-06T07:00:19.672Z',
};
const failingFailed = {
  id: failing,
  type: 'simulate',
  state: 'failed',
  progress: 50,
  attempts: 2,
  maxAttempts: 2,
  createdAt: '2026-12-06T07:00:45.506Z',
  links: links(failing),
  message: 'step 2 of 4',
  error: 'simulated failure at step 3 of 4',
  startedAt: '2026-12-06T07:00:45.511Z',
  finishedAt: '2026-12-06T07:00:46.259Z',
};

/** `202` of `POST /jobs`. */
export const submittedExamples = {
  queued: { summary: 'Queued (the five-step job)', value: quickQueued },
  delayed: { summary: 'Queued until `runAt` (submitted with `delayMs`)', value: delayedQueued },
} satisfies Record<string, Example>;

/** `202` of `POST /jobs/batch`. */
export const batchAcceptedExamples = {
  twoJobs: {
    summary: 'Both jobs queued, one stream for both',
    value: {
      items: [quickQueued, secondQueued],
      links: { events: `/events?jobs=${quick},${second}&summary=true` },
    },
  },
} satisfies Record<string, Example>;

/** `200` of `GET /jobs/{id}`. */
export const jobExamples = {
  queued: { summary: 'Queued: second in line, and when it is expected to start', value: quickWaiting },
  delayed: {
    summary: 'Delayed: no place in line yet, due at `runAt`',
    value: { ...delayedQueued, expectedStartAt: delayedQueued.runAt },
  },
  active: { summary: 'Running: step 3 of 5, its pace and ETA', value: quickActive },
  completed: { summary: 'Completed, with its result', value: quickCompleted },
  failed: { summary: 'Failed on its last attempt', value: failingFailed },
  cancelled: { summary: 'Cancelled before it started', value: delayedCancelled },
} satisfies Record<string, Example>;

/** `200` of `GET /jobs`: newest first. */
export const jobListExamples = {
  firstPage: {
    summary: 'A page of two (`limit=2`), with more to come',
    value: { items: [failingFailed, secondCompleted], nextCursor: `001796540429458:${second}` },
  },
  lastPage: { summary: 'The last page', value: { items: [quickCompleted, delayedCancelled], nextCursor: null } },
} satisfies Record<string, Example>;

/** `202` of `POST /jobs/{id}/cancel`. */
export const cancelledExamples = {
  queued: { summary: 'A queued job: cancelled at once', value: delayedCancelled },
  running: {
    summary: 'A running job: its handler is told, and `done` (cancelled) follows',
    value: quickActive,
  },
} satisfies Record<string, Example>;

/** `200` of `GET /jobs/{id}/logs`. */
export const logExamples = {
  lines: {
    summary: 'Lines a handler logged with `ctx.log`',
    value: {
      items: [
        { seq: 3, line: 'fetching https://images.example.com/cat.png', at: '2026-12-06T07:00:29.702Z' },
        { seq: 5, line: 'resizing 4032×3024 to 800×600', at: '2026-12-06T07:00:30.104Z' },
      ],
      truncated: false,
    },
  },
  none: { summary: 'A job that logs nothing (`simulate`)', value: { items: [], truncated: false } },
} satisfies Record<string, Example>;

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

/** `201` of `POST /events/tokens`. */
export const tokenExamples = {
  twoJobs: {
    summary: 'A token for two jobs, valid 15 minutes',
    value: {
      token: 'AWsVC5QCazFvHCueTTpOe5pYDC4dfztksuTW-Bo8Tl-Ke5wNHi86Sw.HTbZ_kii263yfH7539eFoYokphmYftkEb9EXkxGKJbU',
      expiresAt: '2026-12-06T07:15:32.000Z',
      url: `/events?jobs=${quick},${second}&token=AWsVC5QCazFvHCueTTpOe5pYDC4dfztksuTW-Bo8Tl-Ke5wNHi86Sw.HTbZ_kii263yfH7539eFoYokphmYftkEb9EXkxGKJbU`,
    },
  },
} satisfies Record<string, Example>;

// ---- Event streams ----

type Event = [id: string, event: string, data: Json];

/** A stream as the server writes it (its own encoder): `retry:`, then the events. */
const streamText = (events: Event[]) =>
  `${encodeRetry(2000)}${events.map(([id, event, data]) => encodeEvent({ id, event, data: JSON.stringify(data) })).join('')}`;

const progress = (
  jobId: string,
  state: string,
  value: number,
  at: string,
  message?: string,
  pace?: { rate: number; eta: string },
) => ({
  jobId,
  state,
  progress: value,
  ...(message ? { message } : {}),
  attempt: state === 'queued' ? 0 : 1,
  at,
  ...(pace ?? {}),
  ...(state === 'active' ? { stalled: false } : {}),
});
const paced = (rate: number, eta: string) => ({ rate, eta });

/** The five-step job's reports, paced (`jobs/pace` on these times). */
const quickSteps: [number, Json][] = [
  [
    1,
    progress(quick, 'active', 20, '2026-12-06T07:00:29.667Z', 'step 1 of 5', paced(99.5, '2026-12-06T07:00:30.471Z')),
  ],
  [
    2,
    progress(quick, 'active', 40, '2026-12-06T07:00:29.868Z', 'step 2 of 5', paced(99.5, '2026-12-06T07:00:30.471Z')),
  ],
  [
    3,
    progress(quick, 'active', 60, '2026-12-06T07:00:30.070Z', 'step 3 of 5', paced(99.32, '2026-12-06T07:00:30.473Z')),
  ],
  [
    4,
    progress(quick, 'active', 80, '2026-12-06T07:00:30.271Z', 'step 4 of 5', paced(99.37, '2026-12-06T07:00:30.472Z')),
  ],
  [
    5,
    progress(quick, 'active', 100, '2026-12-06T07:00:30.472Z', 'step 5 of 5', paced(99.4, '2026-12-06T07:00:30.472Z')),
  ],
];

/** `200` of `GET /jobs/{id}/events`. */
export const jobStreamExamples = {
  fromSubmit: {
    summary: 'The five-step job, watched from its submission to `done`',
    value: streamText([
      ['1', 'progress', progress(quick, 'queued', 0, '2026-12-06T07:00:29.458Z')],
      ['2', 'progress', progress(quick, 'active', 0, '2026-12-06T07:00:29.466Z')],
      ...quickSteps.map(([i, event]) => [String(i + 2), 'progress', event] as Event),
      ['8', 'progress', progress(quick, 'completed', 100, '2026-12-06T07:00:30.474Z', 'step 5 of 5')],
      ['9', 'done', { jobId: quick, status: 'completed', at: '2026-12-06T07:00:30.474Z', result: { steps: 5 } }],
    ]),
  },
  resumed: {
    summary: 'Resumed with `Last-Event-ID: 6` after the job finished: its state now, then `done`',
    value: streamText([
      ['8', 'progress', progress(quick, 'completed', 100, '2026-12-06T07:00:30.474Z', 'step 5 of 5')],
      ['9', 'done', { jobId: quick, status: 'completed', at: '2026-12-06T07:00:30.474Z', result: { steps: 5 } }],
    ]),
  },
} satisfies Record<string, Example>;

/**
 * The batch's two jobs on one stream as the server writes it: each job's events in order, its
 * cursor in the composite id, and after every change the group's `summary`, worked out by the
 * server's own code (`events/summary`) at each event's time.
 */
function batchStream(events: [jobIndex: 0 | 1, seq: number, event: string, data: Json][]): string {
  const cursors = [0, 0];
  const summary = new GroupSummary();
  const out: Event[] = [];
  const summarize = (at: string) => {
    const data = summary.take(Date.parse(at));
    if (data) out.push([cursors.join('.'), 'summary', JSON.parse(data) as Json]);
  };
  for (const [index, seq, event, data] of events) {
    cursors[index] = seq;
    out.push([cursors.join('.'), event, data]);
    const jobId = data.jobId as string;
    if (event === 'progress') summary.progress(jobId, data.progress as number);
    if (event === 'done') summary.done(jobId, data.status as 'completed');
    // The first summary once both jobs' current state is out.
    if (out.length >= 2) summarize(data.at as string);
  }
  return streamText(out);
}

/** `200` of `GET /events?jobs=…`: ids are both jobs' cursors, in the order of `jobs`. */
export const multiStreamExamples = {
  twoJobs: {
    summary:
      "The batch's two jobs, watched on one connection from their submission with its `links.events` (`summary=true`), each to its `done`",
    value: batchStream([
      [0, 1, 'progress', progress(quick, 'queued', 0, '2026-12-06T07:00:29.458Z')],
      [1, 1, 'progress', progress(second, 'queued', 0, '2026-12-06T07:00:29.458Z')],
      [1, 2, 'progress', progress(second, 'active', 0, '2026-12-06T07:00:29.463Z')],
      [0, 2, 'progress', progress(quick, 'active', 0, '2026-12-06T07:00:29.466Z')],
      [0, 3, 'progress', quickSteps[0]?.[1] as Json],
      [
        1,
        3,
        'progress',
        progress(
          second,
          'active',
          33.33,
          '2026-12-06T07:00:29.764Z',
          'step 1 of 3',
          paced(110.7, '2026-12-06T07:00:30.366Z'),
        ),
      ],
      [0, 4, 'progress', quickSteps[1]?.[1] as Json],
      [
        1,
        4,
        'progress',
        progress(
          second,
          'active',
          66.67,
          '2026-12-06T07:00:30.066Z',
          'step 2 of 3',
          paced(110.6, '2026-12-06T07:00:30.367Z'),
        ),
      ],
      [0, 5, 'progress', quickSteps[2]?.[1] as Json],
      [0, 6, 'progress', quickSteps[3]?.[1] as Json],
      [
        1,
        5,
        'progress',
        progress(
          second,
          'active',
          100,
          '2026-12-06T07:00:30.368Z',
          'step 3 of 3',
          paced(110.5, '2026-12-06T07:00:30.368Z'),
        ),
      ],
      [1, 6, 'progress', progress(second, 'completed', 100, '2026-12-06T07:00:30.371Z', 'step 3 of 3')],
      [1, 7, 'done', { jobId: second, status: 'completed', at: '2026-12-06T07:00:30.371Z', result: { steps: 3 } }],
      [0, 7, 'progress', quickSteps[4]?.[1] as Json],
      [0, 8, 'progress', progress(quick, 'completed', 100, '2026-12-06T07:00:30.474Z', 'step 5 of 5')],
      [0, 9, 'done', { jobId: quick, status: 'completed', at: '2026-12-06T07:00:30.474Z', result: { steps: 5 } }],
    ]),
  },
} satisfies Record<string, Example>;

const feedLabels = { type: 'simulate' };
/** A progress event as the feed shows it: labelled, and without the stall signal (see its operation). */
const onFeed = ({ stalled: _, ...data }: Json, tags?: string[]) => ({
  ...data,
  ...feedLabels,
  ...(tags ? { tags } : {}),
});

/** `200` of `GET /events/feed`: every job of the key, from any client; ids are feed entry ids. */
export const feedExamples = {
  live: {
    summary:
      'Opened at 07:00:29.400: the batch of two jobs submitted from another client appears, runs and finishes (some steps left out)',
    value: `${encodeRetry(2000)}id: 1796540429391-0\n\n${[
      ['1796540429458-0', 'progress', onFeed(progress(quick, 'queued', 0, '2026-12-06T07:00:29.458Z'))],
      ['1796540429458-1', 'progress', onFeed(progress(second, 'queued', 0, '2026-12-06T07:00:29.458Z'))],
      ['1796540429464-0', 'progress', onFeed(progress(second, 'active', 0, '2026-12-06T07:00:29.463Z'))],
      ['1796540429467-0', 'progress', onFeed(progress(quick, 'active', 0, '2026-12-06T07:00:29.466Z'))],
      ['1796540430069-0', 'progress', onFeed(quickSteps[2]?.[1] as Json)],
      [
        '1796540430372-0',
        'progress',
        onFeed(progress(second, 'completed', 100, '2026-12-06T07:00:30.371Z', 'step 3 of 3')),
      ],
      [
        '1796540430372-1',
        'done',
        { jobId: second, status: 'completed', at: '2026-12-06T07:00:30.371Z', result: { steps: 3 } },
      ],
    ]
      .map(([id, event, data]) => encodeEvent({ id: id as string, event: event as string, data: JSON.stringify(data) }))
      .join('')}`,
  },
  resumed: {
    summary:
      "Resumed with `Last-Event-ID: 1796540430069-0` after the failing job had been submitted and run meanwhile: what was missed, each job's latest state and `done`, conflated, in order",
    value: streamText([
      [
        '1796540430372-0',
        'progress',
        onFeed(progress(second, 'completed', 100, '2026-12-06T07:00:30.371Z', 'step 3 of 3')),
      ],
      [
        '1796540430372-1',
        'done',
        { jobId: second, status: 'completed', at: '2026-12-06T07:00:30.371Z', result: { steps: 3 } },
      ],
      [
        '1796540430475-0',
        'progress',
        onFeed(progress(quick, 'completed', 100, '2026-12-06T07:00:30.474Z', 'step 5 of 5')),
      ],
      [
        '1796540430475-1',
        'done',
        { jobId: quick, status: 'completed', at: '2026-12-06T07:00:30.474Z', result: { steps: 5 } },
      ],
      [
        '1796540446260-0',
        'progress',
        onFeed({ ...progress(failing, 'failed', 50, '2026-12-06T07:00:46.259Z', 'step 2 of 4'), attempt: 2 }),
      ],
      [
        '1796540446260-1',
        'done',
        { jobId: failing, status: 'failed', at: '2026-12-06T07:00:46.259Z', error: 'simulated failure at step 3 of 4' },
      ],
    ]),
  },
} satisfies Record<string, Example>;

// ---- Probes ----

export const healthExamples = { ok: { summary: 'Alive', value: { status: 'ok' } } } satisfies Record<string, Example>;
export const readyExamples = {
  ready: { summary: 'Redis answers', value: { status: 'ready' } },
} satisfies Record<string, Example>;
export const metricsExamples = {
  streams: {
    summary: 'A few of the metrics',
    value: `# HELP jobcast_open_streams Event streams open on this process.
# TYPE jobcast_open_streams gauge
jobcast_open_streams 2

# HELP jobcast_events_sent_total Events written to streams, by event type.
# TYPE jobcast_events_sent_total counter
jobcast_events_sent_total{type="progress"} 27
jobcast_events_sent_total{type="done"} 9
`,
  },
} satisfies Record<string, Example>;
