/**
 * @module @jobcast/react
 * React hooks for jobcast: `useJob(id)` and `useJobs(ids)` return the live job resource, the
 * latest events, what progress tells beyond the percentage (`rate`, `eta`, `queuePosition`,
 * `expectedStartAt`, `stalled`, `details`, `tags`) and the state of the connection. However many
 * jobs a component watches, they share ONE event stream (`GET /events?jobs=…`), which resumes by
 * itself after a drop and is closed when the component unmounts or every job has finished; with
 * `{ summary: true }` it also carries the group's `summary`. `useFeed()` follows the API key's
 * feed: every job of the key, from any client, live (see `./feed`).
 *
 * The client comes from `<JobcastProvider client={…}>` or from the `client` option.
 *
 * @example
 * const jobcast = new JobcastClient({ baseUrl: 'http://127.0.0.1:3000' });
 * function Progress({ id }: { id: string }) {
 *   const { job, connection } = useJob(id, { client: jobcast });
 *   return <progress max={100} value={job?.progress ?? 0} aria-label={`${job?.state} (${connection})`} />;
 * }
 */
import type {
  DoneEvent,
  GoneEvent,
  GroupSummaryEvent,
  JobcastClient,
  JobResource,
  LogEvent,
  ProgressEvent,
  SummaryEvent,
  WatchEvent,
} from '@jobcast/client';
import { useEffect, useMemo, useState } from 'react';
import { useClient } from './context.js';

export { JobcastProvider } from './context.js';
export { type FeedJob, type LiveFeed, type UseFeedOptions, useFeed } from './feed.js';

/**
 * What progress tells beyond the percentage, as last heard: from the latest `progress` event,
 * falling back to the resource (a GET) for what no event carried yet. Each field is present only
 * while it applies: `rate` and `eta` while the job runs and has made progress, `queuePosition`
 * and `expectedStartAt` while it waits, `stalled` while it runs (true: it has gone quiet).
 */
export interface Derived {
  /** Percent per second, smoothed. */
  rate: number | undefined;
  /** When 100% is expected (ISO time). */
  eta: string | undefined;
  /** 1 = next to start. */
  queuePosition: number | undefined;
  /** When the job is expected to start (ISO time). */
  expectedStartAt: string | undefined;
  /** True while the running job has reported nothing for longer than usual. */
  stalled: boolean | undefined;
  /** The handler's latest details. */
  details: Record<string, unknown> | undefined;
  /** The tags the job was submitted with (from the resource). */
  tags: string[] | undefined;
}

/** `connecting` until the stream answers, `closed` once every job has finished (or on error). */
export type Connection = 'idle' | 'connecting' | 'live' | 'reconnecting' | 'closed';

/** What a hook knows of one job. */
export interface LiveJob extends Derived {
  /** The job resource, kept up to date by the stream (undefined until first heard of). */
  job: JobResource | undefined;
  /** The latest `progress` event. */
  progress: ProgressEvent | undefined;
  /** The `done` event, once the job finished. */
  done: DoneEvent | undefined;
  /** Set when the stream says the job does not exist (any more): it gets no `done`. */
  gone: GoneEvent | undefined;
  /** The latest log lines (at most `maxLogLines`), oldest first. */
  logs: LogEvent[];
}

export interface LiveJobs {
  /** One entry per id, in the order given. */
  jobs: Record<string, LiveJob>;
  connection: Connection;
  /** Why the stream stopped, when it stopped on an error (a 404 for an unknown job, a 401…). */
  error: unknown;
  /** The group at a glance (`useJobs(ids, { summary: true })` only): the latest `summary` event. */
  summary: SummaryEvent | undefined;
}

export interface UseJobsOptions {
  /** Overrides the provider's client. */
  client?: JobcastClient;
  /** Log lines kept per job (default 100). */
  maxLogLines?: number;
  /** Also follow the group's `summary` (total, completed, failed, cancelled, mean progress, eta). */
  summary?: boolean;
}

const NO_DERIVED: Derived = {
  rate: undefined,
  eta: undefined,
  queuePosition: undefined,
  expectedStartAt: undefined,
  stalled: undefined,
  details: undefined,
  tags: undefined,
};

const blank = (): LiveJob => ({
  job: undefined,
  progress: undefined,
  done: undefined,
  gone: undefined,
  logs: [],
  ...NO_DERIVED,
});

/**
 * Watches `ids` over one stream. The stream is opened when the component mounts (or the ids
 * change) and closed when it unmounts or every job is done.
 */
export function useJobs(ids: readonly string[], options: UseJobsOptions = {}): LiveJobs {
  const client = useClient(options.client, 'useJobs');
  const maxLogLines = options.maxLogLines ?? 100;
  const withSummary = options.summary === true;
  // The same ids in a new array must not reopen the stream.
  const key = ids.join(',');
  const list = useMemo(() => (key ? key.split(',') : []), [key]);
  const [state, setState] = useState<LiveJobs>(() => initial(list));

  useEffect(() => {
    setState(initial(list));
    if (list.length === 0) return;
    const controller = new AbortController();
    const { signal } = controller;
    const update = (f: (previous: LiveJobs) => LiveJobs) => {
      if (!signal.aborted) setState(f);
    };
    // The resources as they are now (refused for a page that holds only a stream token: the
    // stream then fills them in).
    for (const id of list) {
      client.get(id, { signal }).then(
        (job) => update((s) => withJob(s, id, (live) => derive({ ...live, job: live.job ?? job }))),
        () => {},
      );
    }
    // Fire and forget: the effect cannot await, and every failure is caught inside and
    // becomes the hook's `error`.
    void (async () => {
      update((s) => ({ ...s, connection: 'connecting' }));
      try {
        const watch = { signal, onConnection: (connection: Connection) => update((s) => ({ ...s, connection })) };
        const events: AsyncGenerator<WatchEvent | GroupSummaryEvent> = withSummary
          ? client.watchMany(list, { ...watch, summary: true })
          : client.watchMany(list, watch);
        for await (const event of events) {
          if (event.type === 'summary') update((s) => ({ ...s, summary: event.data }));
          else update((s) => withJob(s, event.jobId, (live) => derive(apply(live, event, maxLogLines))));
        }
        update((s) => ({ ...s, connection: 'closed' }));
        // Every job is done: the final resources carry what events do not (finishedAt…).
        await Promise.all(
          list.map((id) =>
            client.get(id, { signal }).then(
              (job) => update((s) => withJob(s, id, (live) => derive({ ...live, job }))),
              () => {},
            ),
          ),
        );
      } catch (error) {
        if (signal.aborted) return;
        update((s) => ({ ...s, connection: 'closed', error }));
      }
    })();
    return () => controller.abort();
  }, [client, list, maxLogLines, withSummary]);

  return state;
}

/** Watches one job: `useJobs([id])` for a single id, flattened. */
export function useJob(
  id: string | undefined,
  options: Omit<UseJobsOptions, 'summary'> = {},
): LiveJob & Omit<LiveJobs, 'jobs' | 'summary'> {
  const { jobs, connection, error } = useJobs(id ? [id] : [], options);
  return { ...(id ? (jobs[id] ?? blank()) : blank()), connection, error };
}

function initial(ids: readonly string[]): LiveJobs {
  return {
    jobs: Object.fromEntries(ids.map((id) => [id, blank()])),
    connection: 'idle',
    error: undefined,
    summary: undefined,
  };
}

/**
 * The derived fields from what is known now. A finished job has none of the live ones; an event
 * says what applies at its time (a field it lacks no longer applies), and the resource fills in
 * until the first event, and for what events do not carry (tags; details not re-sent).
 */
function derive(live: LiveJob): LiveJob {
  const { job, progress, done } = live;
  const details = progress?.details ?? job?.details;
  const tags = job?.tags;
  if (done) return { ...live, ...NO_DERIVED, details, tags };
  const from = progress ?? job;
  return {
    ...live,
    rate: from?.rate,
    eta: from?.eta,
    queuePosition: from?.queuePosition,
    expectedStartAt: from?.expectedStartAt,
    stalled: from?.stalled,
    details,
    tags,
  };
}

function withJob(state: LiveJobs, id: string, f: (live: LiveJob) => LiveJob): LiveJobs {
  const live = state.jobs[id];
  return live ? { ...state, jobs: { ...state.jobs, [id]: f(live) } } : state;
}

function apply(live: LiveJob, event: WatchEvent, maxLogLines: number): LiveJob {
  switch (event.type) {
    case 'progress': {
      if (live.done) return live;
      const { state, progress, message } = event.data;
      return {
        ...live,
        progress: event.data,
        job: live.job && { ...live.job, state, progress, ...(message === undefined ? {} : { message }) },
      };
    }
    case 'log':
      return { ...live, logs: [...live.logs, event.data].slice(-maxLogLines) };
    case 'done': {
      const { status, result, error } = event.data;
      return {
        ...live,
        done: event.data,
        job: live.job && {
          ...live.job,
          state: status,
          ...(status === 'completed' ? { progress: 100, result } : {}),
          ...(error === undefined ? {} : { error }),
        },
      };
    }
    case 'gone':
      return { ...live, gone: event.data };
    case 'reset':
      return live;
  }
}
