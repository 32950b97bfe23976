/**
 * @module openapi/examples
 * Hand-written examples of every request and response of the API, copied from what a running
 * jobcast answered (ids and times made consistent across them): one story of a few jobs,
 * told by every operation. Swagger UI's "Try it out" prefills each request body with its
 * first example, so the first `POST /jobs` and `POST /jobs/batch` examples run to
 * `completed` in about a second.
 *
 * The story's cast is in `examples/story` and its jobs at each stage in
 * `examples/job-resources`; the examples are grouped by resource: `jobs`, `webhooks`, `tokens`,
 * `streams` and `feed` (written with `stream-text`), `probes`. This module gathers them for
 * `operations`.
 *
 * `test/openapi-examples.test.ts` checks every example against its schema, against the rules
 * a schema cannot state (a queued job has progress 0 and no `startedAt`, times are ordered…),
 * and against what a live server answers to the example requests.
 *
 * @example
 * submitExamples.fiveSteps.value // { type: 'simulate', data: { steps: 5, stepMs: 200 } }
 */
export { feedExamples } from './examples/feed.js';
export {
  batchAcceptedExamples,
  batchExamples,
  cancelledExamples,
  jobExamples,
  jobListExamples,
  logExamples,
  submitExamples,
  submittedExamples,
} from './examples/jobs.js';
export { healthExamples, metricsExamples, readyExamples } from './examples/probes.js';
export { type Example, exampleIds } from './examples/story.js';
export { jobStreamExamples, multiStreamExamples } from './examples/streams.js';
export { tokenExamples, tokenRequestExamples } from './examples/tokens.js';
export { webhookDeliveryExamples } from './examples/webhooks.js';
