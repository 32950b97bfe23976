/**
 * @module openapi/examples/job-resources
 * The story's jobs as the API shows them at each stage (queued, second in line, running,
 * completed, failed, cancelled), copied from what a running jobcast answered. Every job example
 * is built from these, so a job looks the same in every operation that shows it.
 */
import { exampleIds } from './story.js';

const { quick, second, delayed, failing } = exampleIds;

const links = (id: string) => ({
  self: `/jobs/${id}`,
  events: `/jobs/${id}/events`,
  cancel: `/jobs/${id}/cancel`,
  logs: `/jobs/${id}/logs`,
});
export const quickQueued = {
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
export const quickWaiting = { ...quickQueued, queuePosition: 2, expectedStartAt: '2026-12-06T07:00:30.158Z' };
export const quickActive = {
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
export const quickCompleted = {
  ...quickWithoutPace,
  state: 'completed',
  progress: 100,
  message: 'step 5 of 5',
  result: { steps: 5 },
  startedAt: '2026-12-06T07:00:29.466Z',
  finishedAt: '2026-12-06T07:00:30.474Z',
};
export const secondQueued = { ...quickQueued, id: second, links: links(second) };
export const secondCompleted = {
  ...secondQueued,
  state: 'completed',
  progress: 100,
  attempts: 1,
  message: 'step 3 of 3',
  result: { steps: 3 },
  startedAt: '2026-12-06T07:00:29.463Z',
  finishedAt: '2026-12-06T07:00:30.371Z',
};
export const delayedQueued = {
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
export const delayedCancelled = {
  ...delayedWithoutRunAt,
  state: 'cancelled',
  error: 'cancelled by request',
  finishedAt: '2026-12-06T07:00:19.672Z',
};
export const failingFailed = {
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
