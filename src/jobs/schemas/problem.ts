/**
 * @module jobs/schemas/problem
 * The body of every error response: RFC 9457 problem details, with the field errors of a
 * validation failure (bounded: see `problems`).
 */
import { z } from 'zod';
import { MAX_LISTED_ERRORS } from '../../problems.js';

export const Problem = z
  .object({
    type: z.string().describe('A URI reference naming the kind of problem.'),
    title: z.string(),
    status: z.int().min(400).max(599),
    detail: z.string().optional(),
    instance: z.string().optional(),
    errors: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .max(MAX_LISTED_ERRORS)
      .optional()
      .describe(`Field errors of a validation failure: the first ${MAX_LISTED_ERRORS}.`),
    totalErrors: z
      .int()
      .min(0)
      .optional()
      .describe(`How many field errors there were in all (\`errors\` lists at most the first ${MAX_LISTED_ERRORS}).`),
  })
  .loose()
  .describe('RFC 9457 problem details (`application/problem+json`).');
