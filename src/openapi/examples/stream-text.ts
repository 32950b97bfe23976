/**
 * @module openapi/examples/stream-text
 * How the stream examples are written: with the server's own SSE encoder (`sse`), so an example
 * stream is byte for byte what a client reads, and from the five-step job's progress reports,
 * which every stream example shows.
 */
import { encodeEvent, encodeRetry } from '../../sse.js';
import type { Json } from '../refs.js';
import { exampleIds } from './story.js';

const { quick } = exampleIds;

/** One event of an example stream. */
export type Event = [id: string, event: string, data: Json];

/** A stream as the server writes it (its own encoder): `retry:`, then the events. */
export const streamText = (events: Event[]) =>
  `${encodeRetry(2000)}${events.map(([id, event, data]) => encodeEvent({ id, event, data: JSON.stringify(data) })).join('')}`;

/** A progress event's data as the server sends it (the stall signal on running jobs only). */
export const progress = (
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
/** What `jobs/pace` worked out: percent per second, and when 100% is expected. */
export const paced = (rate: number, eta: string) => ({ rate, eta });

/** The five-step job's reports, paced (`jobs/pace` on these times). */
export const quickSteps: [number, Json][] = [
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
