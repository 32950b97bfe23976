/**
 * @module jobs/schemas
 * The shapes of the public contract: request bodies and headers, the job resource, stream
 * events, stream tokens, problems and probe answers. Routes validate with these and
 * `openapi.yaml` is generated from these, so the documentation cannot drift from the code.
 *
 * Glossary:
 * - **seq**: a job's event sequence number; every event of a job (progress, log, done) takes
 *   the next one. It is the SSE `id:` of a single-job stream and the resume cursor.
 * - **record**: the Redis hash holding a job's current state (see `jobs/store`).
 *
 * The shapes live by concept in `schemas/`: `job` (the resource), `submission` (bodies,
 * options, batches), `events` (stream events), `streams` (tokens, the feed's filters),
 * `listing` (pages, logs), `problem`, `probes`; `progress-fields` describes what the resource
 * and the progress event share. Import them from here.
 */
export * from './schemas/events.js';
export * from './schemas/job.js';
export * from './schemas/listing.js';
export * from './schemas/probes.js';
export * from './schemas/problem.js';
export * from './schemas/streams.js';
export * from './schemas/submission.js';
