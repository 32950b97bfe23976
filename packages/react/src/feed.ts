/**
 * @module feed
 * `useFeed()`: the API key's feed (`GET /events/feed`, `JobcastClient.feed`) as React state —
 * every job of the key, submitted by any client, as it is created and changes, with its latest
 * state. The feed never ends, so the hook keeps a bounded map: at most `maxJobs` jobs (default
 * 200); past that, the oldest finished job is dropped first, then the oldest running one.
 *
 * @example
 * function Dashboard() {
 *   const { jobs, connection } = useFeed({ tag: ['nightly'] });
 *   return <ul>{jobs.map((j) => <li key={j.id}>{j.type} {j.state} {j.progress}%</li>)}</ul>;
 * }
 */
import type { FeedEvent, FeedOptions, JobcastClient, JobState } from '@jobcast/client';
import { useEffect, useMemo, useState } from 'react';
import { useClient } from './context.js';
import type { Connection } from './index.js';

/** The latest known state of one job of the feed. */
export interface FeedJob {
  id: string;
  /** The job type (every feed `progress` event names it). */
  type: string | undefined;
  tags: string[] | undefined;
  state: JobState;
  progress: number;
  message: string | undefined;
  /** Percent per second and the expected finish, while it runs (as the workers report them). */
  rate: number | undefined;
  eta: string | undefined;
  details: Record<string, unknown> | undefined;
  /** The handler's return value (completed jobs). */
  result: unknown;
  /** Why it failed or was cancelled. */
  error: string | undefined;
  /** When the latest change happened (ISO time). */
  at: string;
}

export interface LiveFeed {
  /** The jobs, the most recently first seen first. */
  jobs: FeedJob[];
  connection: Connection;
  /** Why the feed stopped (a 401 for a refused key, a 403 on a service without keys…). */
  error: unknown;
  /**
   * True once the service said it could not replay every change since the last connection
   * (a `reset`: away too long): some jobs here may be out of date (list them to catch up).
   */
  missed: boolean;
}

export interface UseFeedOptions extends Pick<FeedOptions, 'state' | 'type' | 'tag'> {
  /** Overrides the provider's client (it needs an API key). */
  client?: JobcastClient;
  /** Jobs kept (default 200): past that, the oldest finished one goes first. */
  maxJobs?: number;
}

const DEFAULT_MAX_JOBS = 200;
const FINISHED: ReadonlySet<string> = new Set(['completed', 'failed', 'cancelled']);

/** Follows the API key's feed while the component is mounted (or until the filters change). */
export function useFeed(options: UseFeedOptions = {}): LiveFeed {
  const client = useClient(options.client, 'useFeed');
  const maxJobs = Math.max(1, options.maxJobs ?? DEFAULT_MAX_JOBS);
  // The same filters in new arrays must not reopen the stream.
  const key = JSON.stringify([options.state ?? [], options.type ?? [], options.tag ?? []]);
  const filters = useMemo(() => {
    const [state, type, tag] = JSON.parse(key) as [JobState[], string[], string[]];
    return { state, type, tag };
  }, [key]);
  const [feed, setFeed] = useState<LiveFeed>(empty);

  useEffect(() => {
    setFeed(empty());
    const controller = new AbortController();
    const { signal } = controller;
    const update = (f: (previous: LiveFeed) => LiveFeed) => {
      if (!signal.aborted) setFeed(f);
    };
    // Fire and forget: every error ends up in the state (the catch below), never rejected.
    void (async () => {
      update((s) => ({ ...s, connection: 'connecting' }));
      try {
        for await (const event of client.feed({
          ...filters,
          signal,
          onConnection: (connection) => update((s) => ({ ...s, connection })),
        })) {
          update((s) => apply(s, event, maxJobs));
        }
      } catch (error) {
        if (!signal.aborted) update((s) => ({ ...s, connection: 'closed', error }));
      }
    })();
    return () => controller.abort();
  }, [client, filters, maxJobs]);

  return feed;
}

const empty = (): LiveFeed => ({ jobs: [], connection: 'idle', error: undefined, missed: false });

function apply(feed: LiveFeed, event: FeedEvent, maxJobs: number): LiveFeed {
  if (event.type === 'reset') return { ...feed, missed: true };
  const index = feed.jobs.findIndex((job) => job.id === event.jobId);
  const known = feed.jobs[index];
  let next: FeedJob;
  if (event.type === 'progress') {
    // Once finished, a job stays finished: a late restatement must not bring it back.
    if (known && FINISHED.has(known.state)) return feed;
    const { data } = event;
    next = {
      id: event.jobId,
      type: data.type ?? known?.type,
      tags: data.tags ?? known?.tags,
      state: data.state,
      progress: data.progress,
      message: data.message ?? known?.message,
      rate: data.rate,
      eta: data.eta,
      details: data.details ?? known?.details,
      result: undefined,
      error: undefined,
      at: data.at,
    };
  } else {
    const { data } = event;
    next = {
      id: event.jobId,
      type: known?.type,
      tags: known?.tags,
      state: data.status,
      progress: data.status === 'completed' ? 100 : (known?.progress ?? 0),
      message: known?.message,
      rate: undefined,
      eta: undefined,
      details: known?.details,
      result: data.result,
      error: data.error,
      at: data.at,
    };
  }
  const jobs = known ? feed.jobs.with(index, next) : [next, ...feed.jobs];
  return { ...feed, jobs: bounded(jobs, maxJobs) };
}

/** At most `max` jobs: drops the oldest finished ones first, then the oldest. */
function bounded(jobs: FeedJob[], max: number): FeedJob[] {
  if (jobs.length <= max) return jobs;
  const kept = [...jobs];
  while (kept.length > max) {
    let drop = kept.length - 1;
    for (let i = kept.length - 1; i >= 0; i--) {
      if (FINISHED.has((kept[i] as FeedJob).state)) {
        drop = i;
        break;
      }
    }
    kept.splice(drop, 1);
  }
  return kept;
}
