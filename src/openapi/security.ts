/**
 * @module openapi/security
 * How a caller proves who it is: an API key, or, on event streams, a stream token; and the
 * `security` requirement of an operation from the credentials it accepts.
 *
 * @example
 * securityRequirements([...STREAM, 'open']) // [{ apiKey: [] }, { streamToken: [] }, {}]
 */

export const securitySchemes = {
  apiKey: {
    type: 'http',
    scheme: 'bearer',
    description:
      'An API key (`API_KEYS`, `API_KEYS_FILE`) as `Authorization: Bearer <key>`. Needed only when keys are configured; otherwise the service is open. A key sees only the jobs it created: any other job is a 404.',
  },
  streamToken: {
    type: 'apiKey',
    in: 'query',
    name: 'token',
    description:
      "A short-lived signed token naming the jobs it may watch, for EventSource, which cannot send headers. With keys configured, a job's `links.events` carries one, and `POST /events/tokens` issues one for several jobs. Event streams only; expired → 401 `token-expired`: fetch the job again for a fresh link and resume with `lastEventId`.",
  },
} as const;

/** A credential an operation may accept. */
export type Scheme = keyof typeof securitySchemes;

/** The REST endpoints' credentials, and the event streams'. */
export const REST: Scheme[] = ['apiKey'];
export const STREAM: Scheme[] = ['apiKey', 'streamToken'];

/** `open`: allowed without credentials while no API key is configured. */
export const securityRequirements = (accepted: (Scheme | 'open')[]) =>
  accepted.map((scheme) => (scheme === 'open' ? {} : { [scheme]: [] }));
