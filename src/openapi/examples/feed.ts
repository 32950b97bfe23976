/**
 * @module openapi/examples/feed
 * Examples of `GET /events/feed`: every job of an API key as it appears, runs and finishes, live
 * and resumed. Ids are the feed's own entry ids, not job cursors.
 */
import { encodeEvent, encodeRetry } from '../../sse.js';
import type { Json } from '../refs.js';
import { type Example, exampleIds } from './story.js';
import { progress, quickSteps, streamText } from './stream-text.js';

const { quick, second, failing } = exampleIds;

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
