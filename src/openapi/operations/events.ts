/**
 * @module openapi/operations/events
 * The event routes: a job's stream, many jobs on one stream, the feed of every job of a key,
 * and the stream tokens that let a browser open them. Their wire protocol is described once, in
 * `openapi/streams`.
 */
import { FeedQuery, MAX_JOBS_PER_STREAM } from '../../jobs/schemas.js';
import {
  feedExamples,
  jobStreamExamples,
  multiStreamExamples,
  tokenExamples,
  tokenRequestExamples,
} from '../examples.js';
import type { Operation } from '../operation.js';
import { queryParameters } from '../parameters.js';
import { json, ref } from '../refs.js';
import { REST, STREAM } from '../security.js';
import { eventStreamResponse, feedProtocol, finishedResponse, streamProtocol } from '../streams.js';

/** The event routes. */
export const eventOperations: Operation[] = [
  {
    method: 'get',
    path: '/jobs/{id}/events',
    operationId: 'streamJobEvents',
    summary: "Watch a job's progress live (SSE)",
    description:
      'The job as a stream of events, from its current state to `done`. An unknown job is a 404 problem, which makes EventSource stop without reconnecting.',
    tag: 'events',
    parameters: ['JobIdPath', 'LastEventIdHeader', 'LastEventIdQuery'],
    security: [...STREAM, 'open'],
    responses: {
      200: eventStreamResponse(
        streamProtocol(
          "Every event's `id:` is the job's event sequence number (an integer that only grows).",
          'The server then ends the response.',
        ),
        '^\\d+$',
        jobStreamExamples,
      ),
      204: finishedResponse('the job'),
    },
    problems: [403, 404, 429, 503],
  },
  {
    method: 'get',
    path: '/events',
    operationId: 'streamEvents',
    summary: 'Watch many jobs on one connection (SSE)',
    description: `Browsers allow about six HTTP/1.1 connections per origin: one stream carries the events of up to ${MAX_JOBS_PER_STREAM} jobs, interleaved (each event's \`jobId\` says whose). With \`summary=true\`, also the group's \`summary\` after every change.`,
    tag: 'events',
    parameters: ['JobsQuery', 'SummaryQuery', 'LastEventIdHeader', 'LastEventIdQuery'],
    security: [...STREAM, 'open'],
    responses: {
      200: eventStreamResponse(
        streamProtocol(
          "Every event's `id:` is the cursors (event sequence numbers) of all the jobs joined by `.`, in the order of the `jobs` parameter (`4.0.12`), so one `Last-Event-ID` resumes them all.",
          "The server ends the response after the last job's `done`.",
        ),
        '^\\d+(\\.\\d+)*$',
        multiStreamExamples,
      ),
      204: finishedResponse('every job'),
    },
    problems: [400, 403, 404, 429, 503],
  },
  {
    method: 'get',
    path: '/events/feed',
    operationId: 'streamFeed',
    summary: 'Watch every job of your API key (SSE)',
    description:
      'One stream of every job the API key submits — from any client — as it is created and as it changes, never ending: for dashboards that do not know the ids in advance. Filters: `state`, `type`, `tag` (each a comma-separated list; any value matches). Resumable with `Last-Event-ID`; bounded like every stream (conflation, stuck clients cut, heartbeats, `MAX_STREAMS_PER_CLIENT`). Needs an API key (a stream token covers jobs, not the feed): without keys configured it is a 403 `listing-needs-key`. Queue positions and the stall signal are worked out for jobs watched by id (their own streams); the feed carries what the workers report.',
    tag: 'events',
    parameters: [...queryParameters(FeedQuery), 'LastEventIdHeader', 'LastEventIdQuery'],
    security: REST,
    responses: {
      200: eventStreamResponse(feedProtocol, '^\\d+-\\d+$', feedExamples, ['progress', 'done', 'reset']),
    },
    problems: [400, 403, 429, 503],
  },
  {
    method: 'post',
    path: '/events/tokens',
    operationId: 'createStreamToken',
    summary: 'Get a stream token for several jobs',
    description:
      "With API keys configured, a browser opens `GET /events` with `?token=` instead of a key. The token covers exactly the jobs named, all of which must be the caller's, until `expiresAt` (`STREAM_TOKEN_TTL_SECONDS`). Without keys there is nothing to issue: 400.",
    tag: 'events',
    security: REST,
    requestBody: { required: true, content: json(ref('schemas', 'StreamTokenRequest'), tokenRequestExamples) },
    responses: {
      201: {
        description: 'The token, and the stream URL with it.',
        content: json(ref('schemas', 'StreamToken'), tokenExamples),
      },
    },
    problems: [400, 404, 413, 415, 422, 503],
  },
];
