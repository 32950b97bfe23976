/**
 * @module @jobcast/react
 * React hooks for jobcast: `useJob(id)` and `useJobs(ids)` return the live job resource, the
 * latest events and the state of the connection. However many jobs a component watches, they
 * share ONE event stream (`GET /events?jobs=…`), which resumes by itself after a drop and is
 * closed when the component unmounts or every job has finished.
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
  JobcastClient,
  JobResource,
  LogEvent,
  ProgressEvent,
  WatchEvent,
} from '@jobcast/client';
import { createContext, createElement, type ReactNode, useContext, useEffect, useMemo, useState } from 'react';

/** `connecting` until the stream answers, `closed` once every job has finished (or on error). */
export type Connection = 'idle' | 'connecting' | 'live' | 'reconnecting' | 'closed';

/** What a hook knows of one job. */
export interface LiveJob {
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
}

export interface UseJobsOptions {
  /** Overrides the provider's client. */
  client?: JobcastClient;
  /** Log lines kept per job (default 100). */
  maxLogLines?: number;
}

const ClientContext = createContext<JobcastClient | undefined>(undefined);

/** Gives the hooks below it a client. */
export function JobcastProvider({ client, children }: { client: JobcastClient; children?: ReactNode }) {
  return createElement(ClientContext.Provider, { value: client }, children);
}

const blank = (): LiveJob => ({ job: undefined, progress: undefined, done: undefined, gone: undefined, logs: [] });

/**
 * Watches `ids` over one stream. The stream is opened when the component mounts (or the ids
 * change) and closed when it unmounts or every job is done.
 */
export function useJobs(ids: readonly string[], options: UseJobsOptions = {}): LiveJobs {
  const fromContext = useContext(ClientContext);
  const client = options.client ?? fromContext;
  if (!client) throw new Error('useJobs: give a client (the `client` option, or a <JobcastProvider>)');
  const maxLogLines = options.maxLogLines ?? 100;
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
        (job) => update((s) => withJob(s, id, (live) => ({ ...live, job: live.job ?? job }))),
        () => {},
      );
    }
    // Fire and forget: the effect cannot await, and every failure is caught inside and
    // becomes the hook's `error`.
    void (async () => {
      update((s) => ({ ...s, connection: 'connecting' }));
      try {
        for await (const event of client.watchMany(list, {
          signal,
          onConnection: (connection) => update((s) => ({ ...s, connection })),
        })) {
          update((s) => withJob(s, event.jobId, (live) => apply(live, event, maxLogLines)));
        }
        update((s) => ({ ...s, connection: 'closed' }));
        // Every job is done: the final resources carry what events do not (finishedAt…).
        await Promise.all(
          list.map((id) =>
            client.get(id, { signal }).then(
              (job) => update((s) => withJob(s, id, (live) => ({ ...live, job }))),
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
  }, [client, list, maxLogLines]);

  return state;
}

/** Watches one job: `useJobs([id])` for a single id, flattened. */
export function useJob(id: string | undefined, options: UseJobsOptions = {}): LiveJob & Omit<LiveJobs, 'jobs'> {
  const { jobs, connection, error } = useJobs(id ? [id] : [], options);
  return { ...(id ? (jobs[id] ?? blank()) : blank()), connection, error };
}

function initial(ids: readonly string[]): LiveJobs {
  return { jobs: Object.fromEntries(ids.map((id) => [id, blank()])), connection: 'idle', error: undefined };
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
