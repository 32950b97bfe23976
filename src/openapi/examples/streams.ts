/**
 * @module openapi/examples/streams
 * Examples of the job event streams: one job watched from its submission to `done` and resumed
 * after it finished (`GET /jobs/{id}/events`), and the batch's two jobs on one connection with
 * their group `summary` (`GET /events?jobs=…`).
 */
import { GroupSummary } from '../../events/summary.js';
import type { Json } from '../refs.js';
import { type Example, exampleIds } from './story.js';
import { type Event, paced, progress, quickSteps, streamText } from './stream-text.js';

const { quick, second } = exampleIds;

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
