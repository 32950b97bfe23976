/**
 * @module openapi/examples/tokens
 * Examples of `POST /events/tokens`: the request naming the batch's two jobs, and the token
 * (with its stream URL) it answers.
 */
import { type Example, exampleIds } from './story.js';

const { quick, second } = exampleIds;

/** `POST /events/tokens` bodies. */
export const tokenRequestExamples = {
  twoJobs: { summary: 'A token for two jobs', value: { jobs: [quick, second] } },
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
