/**
 * @module web/app
 * The page at `/`: start `simulate` jobs, watch every one of them live, cancel them, read their
 * log lines and results, and find them again after a reload.
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
import { JobList } from './job-list.js';
import { applyEvent, fromResource, isFinished, loadJobs, type PageJob, refresh, saveJobs } from './page-job.js';

/** What the indicator shows: the stream's state, or `locked` while the page waits for a key. */
type Indicator = ConnectionState | 'locked';

const CONNECTION_LABELS: Record<Indicator, string> = {
  idle: 'Idle',
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  locked: 'Key needed',
};

const element = <T extends HTMLElement>(id: string): T => {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found as T;
};

const connect = (apiKey: string | undefined) =>
  new JobcastClient({ baseUrl: location.origin, ...(apiKey ? { apiKey } : {}) });

/** The page's jobs, newest first. */
let jobs: PageJob[] = [];
const cancelling = new Set<string>();
/** The message under the form is about the stream (cleared once it is live again). */
let streamTrouble = false;
let streamState: ConnectionState = 'idle';

const launcher = element<HTMLElement>('launcher');
const form = element<HTMLFormElement>('start-form');
const formError = element<HTMLParagraphElement>('form-error');
const summary = element<HTMLParagraphElement>('summary');
const empty = element<HTMLDivElement>('empty');
const clearFinished = element<HTMLButtonElement>('clear-finished');
const connection = element<HTMLDivElement>('connection');
const connectionLabel = element<HTMLSpanElement>('connection-label');
const listElement = element<HTMLOListElement>('job-list');

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
  },
  onWaiting: (waiting) => {
    launcher.hidden = waiting;
    showConnection(streamState);
    if (!waiting && document.activeElement === document.body) element('start').focus();
  },
  // The list (ids, labels, messages) is kept in localStorage for every tab of this browser:
  // after a sign-out, the next person at it must not find it.
  onSignOut: () => {
    dropJobs(() => true);
    persistNow();
  },
  reason,
});
let client = connect(gate.key);

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
  const job = find(watched.jobId);
  if (job && applyEvent(job, watched)) draw(job);
  persistSoon();
};
listElement.addEventListener('jobcast-progress', onStreamEvent);
listElement.addEventListener('jobcast-done', onStreamEvent);
listElement.addEventListener('jobcast-log', onStreamEvent);
listElement.addEventListener('jobcast-connection', (event) => {
  const { state } = (event as CustomEvent<{ state: ConnectionState }>).detail;
  showConnection(state);
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
  const input = readForm();
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
    const label = `${input.steps} ${input.steps === 1 ? 'step' : 'steps'} × ${input.stepMs} ms${
      input.failAtStep ? ` · fails at ${input.failAtStep}` : ''
    }`;
    const job = fromResource(resource, label);
    jobs.unshift(job);
    draw(job);
    persistSoon();
  } catch (error) {
    showFormError(`Could not start the job: ${reason(error)}`);
  }
}

async function cancel(id: string): Promise<void> {
  const job = find(id);
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
    if (find(id)) draw(job);
  }
}

clearFinished.addEventListener('click', () => {
  dropJobs(isFinished);
  persistSoon();
});

/** Takes the jobs `which` picks off the page (the caller saves the list). */
function dropJobs(which: (job: PageJob) => boolean): void {
  for (const job of jobs) if (which(job)) list.remove(job.id);
  jobs = jobs.filter((job) => !which(job));
  // Nothing left to watch: the rows' stream closed with them.
  if (!jobs.some(isUnfinished)) showConnection('idle');
  updateSummary();
}

/** The form's values, or undefined (with the problem shown) when one is out of range. */
function readForm(): { steps: number; stepMs: number; failAtStep?: number; logSteps: boolean } | undefined {
  for (const input of Array.from(form.querySelectorAll('input'))) {
    const valid = input.checkValidity();
    input.setAttribute('aria-invalid', String(!valid));
    if (!valid) {
      const name = input.closest('label')?.querySelector('.field-label')?.firstChild?.textContent?.trim();
      showFormError(`${name ?? input.name}: ${input.validationMessage}`);
      input.focus();
      return undefined;
    }
  }
  const value = (name: string) => (form.elements.namedItem(name) as HTMLInputElement).value.trim();
  const failAtStep = value('failAtStep');
  return {
    steps: Number(value('steps')),
    stepMs: Number(value('stepMs')),
    ...(failAtStep ? { failAtStep: Number(failAtStep) } : {}),
    logSteps: (form.elements.namedItem('logSteps') as HTMLInputElement).checked,
  };
}

// ---- drawing ----

function draw(job: PageJob): void {
  list.show(job, { cancelling: cancelling.has(job.id) });
  updateSummary();
}

function updateSummary(): void {
  const count = (state: PageJob['state']) => jobs.filter((job) => job.state === state).length;
  const running = count('active') + count('queued');
  const parts = [
    running ? `${running} running` : '',
    count('completed') ? `${count('completed')} completed` : '',
    count('failed') ? `${count('failed')} failed` : '',
    count('cancelled') ? `${count('cancelled')} cancelled` : '',
  ].filter(Boolean);
  summary.textContent = parts.length ? parts.join(' · ') : 'No jobs yet';
  empty.hidden = jobs.length > 0;
  clearFinished.disabled = !jobs.some(isFinished);
}

function showConnection(state: ConnectionState): void {
  streamState = state;
  const shown: Indicator = gate.waiting ? 'locked' : state;
  connection.dataset.connection = shown;
  connectionLabel.textContent = CONNECTION_LABELS[shown];
}

function showFormError(text: string | undefined): void {
  streamTrouble = false;
  formError.hidden = text === undefined;
  formError.textContent = text ?? '';
}

// ---- state ----

function find(id: string): PageJob | undefined {
  return jobs.find((job) => job.id === id);
}

function isUnfinished(job: PageJob | undefined): job is PageJob {
  return job !== undefined && !isFinished(job);
}

/** GETs jobs the page is unsure about; forgets the ones the server no longer has (expired). */
async function refreshJobs(ids: string[]): Promise<void> {
  const results = await Promise.allSettled(ids.map((id) => gate.authorized(() => client.get(id))));
  results.forEach((result, i) => {
    const job = find(ids[i] as string);
    if (!job) return;
    if (result.status === 'fulfilled') {
      refresh(job, result.value);
      draw(job);
    } else if (result.reason instanceof JobcastError && result.reason.status === 404) {
      jobs = jobs.filter((j) => j !== job);
      list.remove(job.id);
    }
  });
  updateSummary();
  persistSoon();
}

let saveTimer: ReturnType<typeof setTimeout> | undefined;
/** Saves soon, once per burst of events. */
function persistSoon(): void {
  saveTimer ??= setTimeout(persistNow, 250);
}
function persistNow(): void {
  clearTimeout(saveTimer);
  saveTimer = undefined;
  saveJobs(localStorage, jobs);
}

function reason(error: unknown): string {
  if (error instanceof JobcastError) return error.message;
  if (error instanceof TypeError) return 'jobcast is unreachable';
  return error instanceof Error ? error.message : String(error);
}

// ---- start-up: bring back the jobs of the last visit, then watch the unfinished ones ----

addEventListener('pagehide', () => persistNow());
// Back from the back-forward cache: reopen the rows' stream (it was closed on the way out).
addEventListener('pageshow', (event) => {
  if (event.persisted) list.setClient(client);
});

jobs = loadJobs(localStorage);
// Rows are prepended, so draw the oldest first to keep the newest at the top.
for (const job of [...jobs].reverse()) list.show(job);
updateSummary();
// A service that needs a key asks for it now, not after the first Start (with jobs to bring
// back, their GETs find that out): the page says whether it needs one, and a kept key is
// checked with one small list request. An open service lists nothing (ids are capabilities)
// and needs no check.
if (
  jobs.length === 0 &&
  document.querySelector('meta[name="jobcast-api-keys"]')?.getAttribute('content') === 'required'
) {
  const used = gate.key;
  if (used === undefined) void gate.refused(undefined);
  else {
    client.list({ limit: 1 }).catch((error: unknown) => {
      if (isUnauthorized(error)) void gate.refused(used);
    });
  }
}
// Jobs the service no longer has are forgotten before the rows open their stream: a stream
// that names an unknown job is refused whole.
await refreshJobs(jobs.map((job) => job.id));
list.setClient(client);
