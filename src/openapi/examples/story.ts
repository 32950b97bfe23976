/**
 * @module openapi/examples/story
 * The cast of the examples' one story: the jobs every example speaks of, by id, and the shape
 * of an OpenAPI Example Object. The ids are shared so that the examples of different operations
 * tell the same story: the job submitted is the job watched, listed and cancelled.
 */

/** An OpenAPI Example Object. */
export interface Example {
  summary: string;
  description?: string;
  value: unknown;
}

/** The jobs of the story (random v4 UUIDs, as the API makes them). */
export const exampleIds = {
  /** Five steps of 200 ms: submitted, watched, completed. */
  quick: '6f1c2b9e-4d3a-4e7b-9a58-0c2e1d7f3b64',
  /** Submitted beside `quick` in a batch, with priority 1: three steps of 300 ms. */
  second: 'b2e4d6f8-1a3c-4e5f-8a7b-9c0d1e2f3a4b',
  /** Delayed a minute, then cancelled while it waited. */
  delayed: '0d9e8f7a-6b5c-4d3e-a2f1-e0d9c8b7a6f5',
  /** Fails at step 3 on both of its attempts. */
  failing: 'c4a7e2d1-93b8-4f06-b5e1-7d2c8a9f0e36',
} as const;
