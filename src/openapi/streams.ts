/**
 * @module openapi/streams
 * The Server-Sent Events endpoints in OpenAPI 3.1 terms. In 3.1 a media type's `schema`
 * describes the whole body, and an event stream's body is text: `schema` is `{type: string}`
 * (`itemSchema`, which models the events one by one, is OpenAPI 3.2 and must not appear in a
 * 3.1 document). The events are described where tools and readers find them: in prose,
 * as component schemas (one per event name's `data`), and in two extensions of the media
 * type — `x-sse-events` (event name → its `data` schema) and `x-sse-id` (the schema of every
 * `id:`). The 204 a finished stream answers on reconnect is its own response.
 *
 * @example
 * eventStreamResponse(streamProtocol('Ids are integers.', 'Then it ends.'), '^\\d+$', jobStreamExamples)
 */
import type { StreamEventName } from '../jobs/schemas.js';
import type { responseSchemas } from './components.js';
import type { Example } from './examples.js';
import { type Json, ref } from './refs.js';

/** The data schema of each SSE event name; a name added to `StreamEventNames` must appear here. */
const streamEventSchemas = {
  progress: 'ProgressEvent',
  log: 'LogEvent',
  done: 'DoneEvent',
  reset: 'ResetEvent',
  gone: 'GoneEvent',
  summary: 'SummaryEvent',
} as const satisfies Record<StreamEventName, keyof typeof responseSchemas>;

/** The stream protocol, for the description of a 200 `text/event-stream` response. */
export function streamProtocol(ids: string, end: string): string {
  return `Server-Sent Events (WHATWG HTML §9.2); each event's \`data\` is one JSON object:

- \`retry: <ms>\` first (how long EventSource waits before reconnecting), then at once what the job has that the client has not, in id order: its kept \`log\` lines, its current state as a \`progress\` event (so a page can draw its bar), and \`done\` if it finished.
- \`event: progress\`: the job's state changed. Progress is state, not a log: a slow client may miss intermediate values, never the latest. Besides the percentage it carries what is known of the job's pace (\`rate\`, \`eta\`), the handler's \`details\`, a queued job's \`queuePosition\` and \`expectedStartAt\`, and a running job's \`stalled\` signal; a change of the last three alone is a \`progress\` event with the id of the state it updates.
- \`event: log\`: a line the handler logged; never dropped.
- \`event: reset\`: the resume cursor was older than the log lines kept, or newer than anything the job reached (Redis lost recent writes, or a cursor of another job); the current state follows. In the second case the reset's id (on a multi-job stream, that job's part of it) is 0: the job starts over from its first event.
- \`event: done\`: the job finished (completed, failed or cancelled): its last event. ${end}
- \`event: gone\` (multi-job streams): a job that does not exist (any more) — never existed, or expired after its retention; the other jobs go on. A stream none of whose jobs exists is a 404.
- \`event: summary\` (multi-job streams opened with \`summary=true\`, as a batch's \`links.events\` is): the group at a glance after every change.
- \`: ping\` comment lines keep an idle stream alive.
- ${ids} Send the last one back in the \`Last-Event-ID\` header (EventSource does when it reconnects) or the \`lastEventId\` query parameter to resume: nothing already received comes again and \`done\` is never missed. Once \`done\` was received, a reconnect gets \`204 No Content\`, which makes EventSource stop.

The \`data\` schema of each event name: ${Object.entries(streamEventSchemas)
    .map(([event, component]) => `\`${event}\` → \`${component}\``)
    .join(
      ', ',
    )} (in \`components.schemas\`, and by name in this media type's \`x-sse-events\`; the \`id:\` in \`x-sse-id\`).`;
}

/**
 * A 200 `text/event-stream` response: `retry:`, then events whose `id:` matches `idPattern`,
 * each with the `data` schema of its name (`events`: the names this stream sends; all of them by default).
 */
export function eventStreamResponse(
  description: string,
  idPattern: string,
  examples: Record<string, Example>,
  events: readonly StreamEventName[] = Object.keys(streamEventSchemas) as StreamEventName[],
): Json {
  return {
    description,
    headers: {
      'Cache-Control': { required: true, description: '`no-cache, no-transform`.', schema: { type: 'string' } },
      'X-Accel-Buffering': {
        required: true,
        description: 'Tells nginx not to buffer the stream.',
        schema: { type: 'string', const: 'no' },
      },
    },
    content: {
      'text/event-stream': {
        schema: {
          type: 'string',
          description: 'Server-Sent Events: `retry:`, then events, each ended by a blank line.',
        },
        examples,
        'x-sse-events': Object.fromEntries(events.map((event) => [event, ref('schemas', streamEventSchemas[event])])),
        'x-sse-id': { type: 'string', pattern: idPattern },
      },
    },
  };
}

/** The feed's protocol, for the description of its 200 response. */
export const feedProtocol = `Server-Sent Events (WHATWG HTML §9.2); each event's \`data\` is one JSON object. The stream never ends.

- \`retry: <ms>\` first; then a frame holding only an \`id:\`: where this stream starts (a client sets its last event id from it; nothing is dispatched).
- \`event: progress\`: a job of the key was created or changed — the same data as on the job's own stream, plus its \`type\` and \`tags\`. Conflated per job while the client cannot keep up.
- \`event: done\`: a job finished.
- \`event: reset\`: on resume, some changes since the \`Last-Event-ID\` are no longer kept (\`FEED_MAX_EVENTS\`): list the jobs (\`GET /jobs\`) to catch up; the feed goes on.
- \`: ping\` comment lines keep an idle stream alive.
- Every event's \`id:\` is its place in the key's feed (\`<ms>-<n>\`, growing). Send the last one back in \`Last-Event-ID\` (or \`lastEventId\`) to resume: what was missed comes conflated — each job's latest state, and its \`done\` if it finished — in order.`;

/** The 204 that answers a reconnect once `done` was received; `what`: "the job", "every job". */
export const finishedResponse = (what: string) => ({
  description: `No content: ${what} finished and \`done\` was already received (the \`Last-Event-ID\` is \`done\`'s id). A 204 tells EventSource to stop reconnecting.`,
});
