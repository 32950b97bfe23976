/**
 * @module openapi/examples/jobs
 * Examples of the job operations: the bodies of `POST /jobs` and `POST /jobs/batch` (the first
 * of each is what Swagger UI's "Try it out" sends, and runs to `completed` in about a second),
 * and the jobs, pages and log lines the API answers with.
 */
import {
  delayedCancelled,
  delayedQueued,
  failingFailed,
  quickActive,
  quickCompleted,
  quickQueued,
  quickWaiting,
  secondCompleted,
  secondQueued,
} from './job-resources.js';
import { type Example, exampleIds } from './story.js';

const { quick, second } = exampleIds;

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
