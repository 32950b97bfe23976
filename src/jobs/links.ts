/**
 * @module jobs/links
 * What a caller is handed for its jobs: each job's resource with links it can follow as they
 * are, and the events URL of several jobs on one connection. With API keys on, events links
 * carry a stream token, because EventSource cannot send an Authorization header.
 */
import type { StreamTokens } from '../auth/stream-tokens.js';
import type { DerivedProgress } from './events.js';
import type { JobRecord } from './record.js';
import { toResource } from './resource.js';
import type { JobResource } from './schemas.js';

export interface LinkOptions {
  /** Set when API keys are on: events links then carry a stream token. */
  streamTokens?: StreamTokens | undefined;
  /** STALL_AFTER_MS: a running job's resource says whether it is `stalled`. */
  stallAfterMs?: number | undefined;
}

export class JobLinks {
  constructor(readonly options: LinkOptions) {}

  /** The job resource of `record`, its events link with a token for its owner when keys are on. */
  resource(record: JobRecord, queued?: DerivedProgress): JobResource {
    const tokens = this.options.streamTokens;
    const options = { stallAfterMs: this.options.stallAfterMs, queued };
    if (!tokens || record.owner === undefined) return toResource(record, options);
    const { token } = tokens.issue(record.owner, [record.id]);
    return toResource(record, { ...options, eventsQuery: `?token=${encodeURIComponent(token)}` });
  }

  /** The multiplexed stream of the owner's jobs `ids`, with a stream token when keys are on. */
  eventsUrl(ids: string[], owner: string | undefined, summary = false): string {
    const tokens = this.options.streamTokens;
    return eventsUrl(ids, tokens && owner !== undefined ? tokens.issue(owner, ids).token : undefined, summary);
  }
}

/** The `GET /events` URL of several jobs, with `token` when there is one (and the group's summary if asked). */
export const eventsUrl = (ids: string[], token?: string, summary = false): string =>
  `/events?jobs=${ids.join(',')}${summary ? '&summary=true' : ''}${token === undefined ? '' : `&token=${encodeURIComponent(token)}`}`;
