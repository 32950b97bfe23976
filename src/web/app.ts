/**
 * @module web/app
 * The page at `/`: start `simulate` jobs, watch every one of them live (with the time left, the
 * place in the queue and a stall note), cancel them, read their log lines and results, and find
 * them again after a reload; with an API key, follow the key's feed of every job it submits
 * from anywhere (`web/feed-view`).
 *
 * Browser code, the entry point `web/assets` bundles into `/app.js`. It talks to jobcast only
 * through `@jobcast/client`, as any other page would: each job's row shows a
 * `<jobcast-progress>` element, and the elements share the page's client, so every job on the
 * page is watched over one event stream; the page follows their DOM events. Against a service
 * that requires API keys, every call goes through the sign-in gate (`web/api-key`): a refused
 * call waits for a key, then runs again.
 */
import { JobcastClient, JobcastError, type WatchEvent } from '../../packages/client/src/index.js';
import type { ConnectionState } from '../../packages/client/src/shared-stream.js';
import { ApiKeyGate, isUnauthorized } from './api-key.js';
import { ConnectionIndicator } from './connection-indicator.js';
import { element, reason } from './dom.js';
import { FeedView } from './feed-view.js';
import { JobList } from './job-list.js';
import { applyEvent, fromResource, isFinished, type PageJob, refresh, summarize } from './page-job.js';
import { PageJobs } from './page-jobs.js';
import { describeInput, readStartForm } from './start-form.js';
import { ViewTabs } from './view-tabs.js';

const connect = (apiKey: string | undefined) =>
  new JobcastClient({ baseUrl: location.origin, ...(apiKey ? { apiKey } : {}) });

/** The page's jobs, newest first, as the last visit left them. */
const jobs = new PageJobs(localStorage);
const cancelling = new Set<string>();
/** The message under the form is about the stream (cleared once it is live again). */
let streamTrouble = false;
/** Whether this service requires API keys (the page is told): only then is there a feed. */
const keysRequired = document.querySelector('meta[name="jobcast-api-keys"]')?.getAttribute('content') === 'required';

const launcher = element<HTMLElement>('launcher');
const form = element<HTMLFormElement>('start-form');
const formError = element<HTMLParagraphElement>('form-error');
const summary = element<HTMLParagraphElement>('summary');
const empty = element<HTMLDivElement>('empty');
const clearFinished = element<HTMLButtonElement>('clear-finished');
const indicator = new ConnectionIndicator(element('connection'), element('connection-label'));
const listElement = element<HTMLOListElement>('job-list');

const feed = new FeedView({
  onUnauthorized: (used) => {
    if (used === client) void gate.refused(gate.key);
  },
});

const gate = new ApiKeyGate({
  storage: sessionStorage,
  elements: {
    panel: element('sign-in'),
    form: element('sign-in-form'),
    input: element('api-key'),
    submit: element('sign-in-submit'),
    error: element('sign-in-error'),
    signOut: element('sign-out'),
  },
  check: (key) => connect(key).list({ limit: 1 }),
  onKey: (key) => {
    client = connect(key);
    // A stream keeps the key it was opened with: the rows reopen it with the new one.
    list.setClient(client);
    feed.setClient(key === undefined ? undefined : client);
  },
  onWaiting: (waiting) => {
    launcher.hidden = waiting;
    indicator.lock(waiting);
    if (!waiting && document.activeElement === document.body) element('start').focus();
  },
  // The list (ids, labels, messages) is kept in localStorage for every tab of this browser:
  // after a sign-out, the next person at it must not find it.
  onSignOut: () => {
    dropJobs(() => true);
    jobs.saveNow();
  },
  reason,
});
let client = connect(gate.key);

// The feed view: only where keys are required (an open service has no "jobs of a key").
const tabs = new ViewTabs([element('tab-page'), element('tab-feed')], sessionStorage, (panel) =>
  feed.show(panel === 'feed-view'),
);
element('view-tabs').hidden = !keysRequired;
element('feed-off').hidden = keysRequired;

const list = new JobList(listElement, element('job-template'), {
  onCancel: (id) => void cancel(id),
  details: (id) =>
    gate.authorized(async () => {
      const [job, logs] = await Promise.all([client.get(id), client.logs(id)]);
      return { job, logs };
    }),
});

// ---- what the rows' <jobcast-progress> elements report (their events bubble to the list) ----

const onStreamEvent = (event: Event) => {
  const watched = (event as CustomEvent<WatchEvent>).detail;
  const job = jobs.find(watched.jobId);
  if (job && applyEvent(job, watched)) draw(job);
  jobs.saveSoon();
};
listElement.addEventListener('jobcast-progress', onStreamEvent);
listElement.addEventListener('jobcast-done', onStreamEvent);
listElement.addEventListener('jobcast-log', onStreamEvent);
listElement.addEventListener('jobcast-connection', (event) => {
  const { state } = (event as CustomEvent<{ state: ConnectionState }>).detail;
  indicator.show(state);
  if (state === 'live' && streamTrouble) showFormError(undefined);
});
listElement.addEventListener('jobcast-error', (event) => {
  const { error, jobId } = (event as CustomEvent<{ error: unknown; jobId?: string }>).detail;
  const from = (event.target as { client?: JobcastClient }).client;
  if (isUnauthorized(error)) {
    // Refused with the key of the moment: ask for one (signing in reopens the stream).
    if (from === client) void gate.refused(gate.key);
  } else if (error instanceof JobcastError && error.status === 404 && jobId) {
    // Expired (or never existed): forget it.
    void refreshJobs([jobId]);
  } else {
    showFormError(`Live updates stopped: ${reason(error)}. Retrying…`);
    streamTrouble = true;
  }
});

// ---- starting and cancelling ----

form.addEventListener('submit', (event) => {
  event.preventDefault();
  void start();
});

async function start(): Promise<void> {
  const input = readStartForm(form, showFormError);
  if (!input) return;
  showFormError(undefined);
  try {
    let used = client;
    const resource = await gate.authorized(() => {
      used = client;
      return used.submit('simulate', input);
    });
    // Signed out (or in with another key) while it was on its way: not this person's list.
    if (used !== client) return;
    const job = fromResource(resource, describeInput(input));
    jobs.add(job);
    draw(job);
  } catch (error) {
    showFormError(`Could not start the job: ${reason(error)}`);
  }
}

async function cancel(id: string): Promise<void> {
  const job = jobs.find(id);
  if (!job || isFinished(job)) return;
  cancelling.add(id);
  draw(job);
  try {
    // The stream reports the outcome (`done` with status cancelled); the answer is a snapshot.
    refresh(job, await gate.authorized(() => client.cancel(id)));
  } catch (error) {
    // 409: it finished first, and the stream is about to say how.
    if (!(error instanceof JobcastError && error.status === 409)) list.note(id, `Could not cancel: ${reason(error)}`);
  } finally {
    cancelling.delete(id);
    if (jobs.find(id)) draw(job);
  }
}

clearFinished.addEventListener('click', () => dropJobs(isFinished));

/** Takes the jobs `which` picks off the page. */
function dropJobs(which: (job: PageJob) => boolean): void {
  for (const job of jobs.drop(which)) list.remove(job.id);
  // Nothing left to watch: the rows' stream closed with them.
  if (!jobs.anyUnfinished) indicator.show('idle');
  updateSummary();
}

// ---- drawing ----

function draw(job: PageJob): void {
  list.show(job, { cancelling: cancelling.has(job.id) });
  updateSummary();
}

function updateSummary(): void {
  summary.textContent = summarize(jobs.all.map((job) => job.state));
  empty.hidden = jobs.all.length > 0;
  clearFinished.disabled = !jobs.all.some(isFinished);
}

function showFormError(text: string | undefined): void {
  streamTrouble = false;
  formError.hidden = text === undefined;
  formError.textContent = text ?? '';
}

/** GETs jobs the page is unsure about; forgets the ones the server no longer has (expired). */
async function refreshJobs(ids: string[]): Promise<void> {
  const results = await Promise.allSettled(ids.map((id) => gate.authorized(() => client.get(id))));
  results.forEach((result, i) => {
    const job = jobs.find(ids[i] as string);
    if (!job) return;
    if (result.status === 'fulfilled') {
      refresh(job, result.value);
      draw(job);
    } else if (result.reason instanceof JobcastError && result.reason.status === 404) {
      jobs.drop((j) => j === job);
      list.remove(job.id);
    }
  });
  updateSummary();
  jobs.saveSoon();
}

// ---- start-up: bring back the jobs of the last visit, then watch the unfinished ones ----

addEventListener('pagehide', () => jobs.saveNow());
// Back from the back-forward cache: reopen the rows' stream (it was closed on the way out).
addEventListener('pageshow', (event) => {
  if (event.persisted) list.setClient(client);
});

// Rows are prepended, so draw the oldest first to keep the newest at the top.
for (const job of [...jobs.all].reverse()) list.show(job);
updateSummary();
// A service that needs a key asks for it now, not after the first Start (with jobs to bring
// back, their GETs find that out): the page says whether it needs one, and a kept key is
// checked with one small list request. An open service lists nothing (ids are capabilities)
// and needs no check.
if (jobs.all.length === 0 && keysRequired) gate.askEarly();
// Jobs the service no longer has are forgotten before the rows open their stream: a stream
// that names an unknown job is refused whole.
await refreshJobs(jobs.all.map((job) => job.id));
list.setClient(client);
feed.setClient(gate.key === undefined ? undefined : client);
if (keysRequired) tabs.select(tabs.remembered ?? 'page-view');
