/**
 * jobcast used without forking it, as a user gets it: `@jobcast/client` and `@jobcast/react`
 * packed with `npm pack` (once for the file) and installed from the tarballs into a project
 * outside the repository (offline, from npm's cache), then
 * - a `tsc --strict` program using the client (TypeScript's compiler in this process), run
 *   against a live server;
 * - `<jobcast-progress>` in Chromium, served from another origin, driven to `done`;
 * - `useJob` / `useJobs` in a React page in Chromium, driven to `done`, closed on unmount; what
 *   they tell beyond the percentage (eta, expected start, tags, the group summary) and `useFeed`;
 * the root package: what it ships, and `jobcast` on PATH after `npm i -g`; and `@jobcast/cli`,
 * the command alone.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, waitFor } from './support/harness/harness.js';
import { bearer, KEY_A, startKeyedHarness } from './support/http/security.js';
import { openPage, sharedChromium } from './support/page/browser.js';
import { repoRoot } from './support/processes/processes.js';
import { compileProject } from './support/typescript/typecheck.js';

/**
 * Runs a command to its end without blocking this process: the API it talks to runs here.
 * Resolves with its status and output, whatever the status.
 */
async function run(file: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
  try {
    const { stdout, stderr } = await promisify(execFile)(file, args, { ...options, encoding: 'utf8', timeout: 60_000 });
    return { status: 0, stdout, stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code?: number; stdout?: string; stderr?: string };
    return { status: typeof code === 'number' ? code : 1, stdout: stdout ?? '', stderr: stderr ?? '' };
  }
}

let dir: string;
let app: string;
let h: Harness;
let browser: Browser;
/** Serves the browser tests' pages, from an origin other than the API's. */
let pages: Server;
let pagesUrl: string;
const served = new Map<string, { type: string; body: string }>();

const npm = (args: string[], cwd: string) =>
  execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8' });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jobcast-install-'));
  app = join(dir, 'app');
  mkdirSync(app);
  npm(
    ['pack', '-w', 'packages/client', '-w', 'packages/react', '-w', 'packages/cli', '--pack-destination', dir],
    repoRoot,
  );
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  // React as a user's project has it, packed from the copy the repository's development
  // dependencies installed: offline, as a fresh machine can (npm ci caches tarballs, not the
  // registry's package documents that `npm install react@^19 --offline` would need).
  const react = ['react', 'react-dom', 'scheduler'].map((name) =>
    join(dir, npm(['pack', join(repoRoot, 'node_modules', name), '--pack-destination', dir], repoRoot).trim()),
  );
  npm(
    ['install', '--offline', join(dir, 'jobcast-client-0.1.0.tgz'), join(dir, 'jobcast-react-0.1.0.tgz'), ...react],
    app,
  );
  pages = createServer((req, res) => {
    const file = served.get(new URL(req.url ?? '/', 'http://x').pathname);
    if (!file) res.writeHead(404).end();
    else res.writeHead(200, { 'content-type': file.type }).end(file.body);
  });
  await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
  pagesUrl = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`;
  h = await startKeyedHarness({ CORS_ORIGINS: pagesUrl, SSE_RETRY_MS: '200' });
  browser = await sharedChromium();
}, 120_000);
afterAll(async () => {
  await h?.close();
  if (pages) await new Promise((resolve) => pages.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

/** POSTs jobs with the key; returns each job's id and the stream token of its events link. */
async function submit(jobs: { steps: number; stepMs: number; logSteps?: boolean }[]) {
  const res = await fetch(`${h.url}/jobs/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...bearer(KEY_A) },
    body: JSON.stringify({ jobs: jobs.map((data) => ({ type: 'simulate', data })) }),
  });
  expect(res.status).toBe(202);
  const batch = (await res.json()) as { items: { id: string; links: { events: string } }[]; links: { events: string } };
  const token = (link: string) => new URL(link, h.url).searchParams.get('token') as string;
  return {
    items: batch.items.map((job) => ({ id: job.id, token: token(job.links.events) })),
    batchToken: token(batch.links.events),
  };
}

/** Bundles `source` (an ES module importing the installed packages) for the browser. */
async function bundle(source: string): Promise<string> {
  const entry = join(app, `entry-${Math.random().toString(36).slice(2)}.js`);
  writeFileSync(entry, source);
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    absWorkingDir: app,
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'silent',
  });
  return result.outputFiles[0]?.text as string;
}

function serve(name: string, html: string, script: string): string {
  served.set(`/${name}.html`, { type: 'text/html; charset=utf-8', body: html });
  served.set(`/${name}.js`, { type: 'text/javascript; charset=utf-8', body: script });
  return `${pagesUrl}/${name}.html`;
}

describe('the packages', () => {
  it('ship ESM with .d.ts only, and depend on nothing but what they name', () => {
    for (const name of ['client', 'react']) {
      const files = execFileSync('tar', ['tzf', join(dir, `jobcast-${name}-0.1.0.tgz`)], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean);
      expect(
        files.every((f) => /^package\/(package\.json|README\.md|dist\/[\w-]+\.(js|d\.ts))$/.test(f)),
        name,
      ).toBe(true);
      expect(files).toContain('package/dist/index.d.ts');
    }
    const manifest = (name: string) =>
      JSON.parse(readFileSync(join(app, 'node_modules/@jobcast', name, 'package.json'), 'utf8')) as Record<
        string,
        unknown
      >;
    expect(manifest('client').dependencies).toBeUndefined();
    expect(manifest('react').dependencies).toEqual({ '@jobcast/client': '0.1.0' });
    expect(manifest('react').peerDependencies).toEqual({ react: '>=18' });
    // The project holds the two packages, React (asked for) and React's own scheduler: nothing else.
    expect(
      readdirSync(join(app, 'node_modules'))
        .filter((n) => !n.startsWith('.'))
        .sort(),
    ).toEqual(['@jobcast', 'react', 'react-dom', 'scheduler']);
  });

  it('a `tsc --strict` program using @jobcast/client runs against a live server', async () => {
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'nodenext',
          target: 'es2022',
          lib: ['es2023', 'dom'],
          types: [],
          noUncheckedIndexedAccess: true,
          outDir: 'out',
        },
        files: ['main.ts'],
      }),
    );
    writeFileSync(join(app, 'config.ts'), `export const baseUrl = '${h.url}';\nexport const apiKey = '${KEY_A}';\n`);
    writeFileSync(
      join(app, 'main.ts'),
      `import { JobcastClient, JobcastError, type JobResource, type WatchEvent } from '@jobcast/client';
import { apiKey, baseUrl } from './config.js';

const jobcast = new JobcastClient({ baseUrl, apiKey });
const job: JobResource = await jobcast.submit('simulate', { steps: 3, stepMs: 20, logSteps: true });
const seen: WatchEvent['type'][] = [];
let result: unknown;
for await (const event of jobcast.watch(job.id)) {
  seen.push(event.type);
  if (event.type === 'done') result = event.data.result;
}
const batch = await jobcast.submitBatch([
  { type: 'simulate', data: { steps: 2, stepMs: 10 } },
  { type: 'simulate', data: { steps: 1, stepMs: 10 } },
]);
const statuses: string[] = [];
for await (const event of jobcast.watchMany(batch.items.map((j) => j.id))) {
  if (event.type === 'done') statuses.push(event.data.status);
}
const logs = await jobcast.logs(job.id);
const listed = await jobcast.list({ state: 'completed', limit: 10 });
const long = await jobcast.submit('simulate', { steps: 100, stepMs: 100 }, { options: { attempts: 1 } });
await jobcast.cancel(long.id);
let cancelled = '';
for await (const event of jobcast.watch(long.id)) if (event.type === 'done') cancelled = event.data.status;
const got = await jobcast.get(job.id);
let missing = 0;
try {
  await jobcast.get('00000000-0000-4000-8000-000000000000');
} catch (error) {
  if (error instanceof JobcastError) missing = error.status;
}
console.log(
  JSON.stringify({
    seen: [...new Set(seen)].sort(),
    result,
    statuses,
    logLines: logs.items.length,
    listed: listed.items.length,
    cancelled,
    state: got.state,
    missing,
  }),
);
`,
    );
    // `tsc -p .` in the project, the packages' own declarations checked with it.
    expect(compileProject(join(app, 'tsconfig.json'), ['@jobcast/client'])).toBe('');
    const program = await run(process.execPath, [join(app, 'out/main.js')]);
    expect(program.stderr).toBe('');
    expect(JSON.parse(program.stdout)).toEqual({
      seen: ['done', 'log', 'progress'],
      result: { steps: 3 },
      statuses: ['completed', 'completed'],
      logLines: 3,
      listed: 3,
      cancelled: 'cancelled',
      state: 'completed',
      missing: 404,
    });
  });
});

describe('<jobcast-progress> from @jobcast/client/element, in Chromium', () => {
  it('shows jobs live to done with a stream token, fires DOM events, one connection for jobs="a,b"', async () => {
    const { items } = await submit([{ steps: 5, stepMs: 150 }]);
    const batch = await submit([
      { steps: 4, stepMs: 150 },
      { steps: 6, stepMs: 100, logSteps: true },
    ]);
    const [one] = items as [{ id: string; token: string }];
    const [a, b] = batch.items as [{ id: string; token: string }, { id: string; token: string }];
    const url = serve(
      'element',
      `<!doctype html><html lang="en"><title>element</title><link rel="icon" href="data:,">
<jobcast-progress id="one" job="${one.id}" base-url="${h.url}" token="${one.token}" label="Upload"></jobcast-progress>
<jobcast-progress id="many" jobs="${a.id},${b.id}" base-url="${h.url}" token="${batch.batchToken}"></jobcast-progress>
<script type="module" src="/element.js"></script></html>`,
      await bundle(`import '@jobcast/client/element';
window.seen = [];
for (const type of ['jobcast-progress', 'jobcast-log', 'jobcast-done']) {
  document.addEventListener(type, (e) => window.seen.push({ type, on: e.target.id, jobId: e.detail.jobId }));
}
`),
    );
    const t = await openPage(browser, url);
    try {
      const rows = () =>
        t.page.$$eval('.jobcast-job', (all) =>
          all.map((row) => ({
            on: row.closest('jobcast-progress')?.id,
            id: (row as HTMLElement).dataset.jobId,
            state: (row as HTMLElement).dataset.state,
            value: (row.querySelector('progress') as HTMLProgressElement).value,
            label: row.querySelector('progress')?.getAttribute('aria-label'),
            valuetext: row.querySelector('progress')?.getAttribute('aria-valuetext'),
            badge: row.querySelector('[role=status]')?.textContent,
            message: row.querySelector('.message')?.textContent,
          })),
        );
      await waitFor(async () => (await rows()).every((r) => r.state === 'completed'), 'every job completed', 20_000);
      const done = await rows();
      expect(done.map((r) => [r.on, r.id])).toEqual([
        ['one', one.id],
        ['many', a.id],
        ['many', b.id],
      ]);
      for (const r of done) {
        expect(r).toMatchObject({ value: 100, badge: 'Completed', valuetext: '100% — Completed' });
        expect(r.message).toMatch(/^Done — step \d of \d$/);
      }
      expect(done[0]?.label).toBe('Upload');
      const seen = (await t.page.evaluate('window.seen')) as { type: string; on: string; jobId: string }[];
      expect(
        seen
          .filter((e) => e.type === 'jobcast-done')
          .map((e) => e.jobId)
          .sort(),
      ).toEqual([one.id, a.id, b.id].sort());
      expect(seen.filter((e) => e.type === 'jobcast-progress').length).toBeGreaterThanOrEqual(3);
      expect(seen.filter((e) => e.type === 'jobcast-log' && e.jobId === b.id)).toHaveLength(6);
      // One stream per element (each has its own token); two jobs on the second one.
      expect(t.streams.urls.map((u) => new URL(u).pathname).sort()).toEqual(['/events', `/jobs/${one.id}/events`]);
      expect(t.errors).toEqual([]);
    } finally {
      await t.close();
    }
  });
});

describe('useJob / useJobs from @jobcast/react, in Chromium', () => {
  it('return the live job, its events and the connection; one stream for many jobs; closed on unmount', async () => {
    const { items } = await submit([
      { steps: 5, stepMs: 100, logSteps: true },
      { steps: 3, stepMs: 100 },
      { steps: 4, stepMs: 100 },
      { steps: 200, stepMs: 100 },
    ]);
    const [one, a, b, long] = items.map((job) => job.id) as [string, string, string, string];
    const url = serve(
      'react',
      `<!doctype html><html lang="en"><title>react</title><link rel="icon" href="data:,"><div id="root"></div><script type="module" src="/react.js"></script></html>`,
      await bundle(`import { createElement as h, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { JobcastClient } from '@jobcast/client';
import { JobcastProvider, useJob, useJobs } from '@jobcast/react';

const client = new JobcastClient({ baseUrl: '${h.url}', apiKey: '${KEY_A}' });
function One() {
  const { job, progress, done, logs, connection } = useJob('${one}');
  return h('output', { id: 'one', 'data-state': job?.state ?? '', 'data-progress': String(job?.progress ?? ''),
    'data-seen-progress': String(progress !== undefined), 'data-done': done?.status ?? '', 'data-logs': String(logs.length),
    'data-connection': connection, 'data-finished-at': job?.finishedAt ?? '' });
}
function Many() {
  const { jobs, connection } = useJobs(['${a}', '${b}']);
  return h('output', { id: 'many', 'data-done': Object.values(jobs).map((j) => j.done?.status ?? '').join(','), 'data-connection': connection });
}
function Long() {
  const { job, connection } = useJob('${long}');
  return h('output', { id: 'long', 'data-state': job?.state ?? '', 'data-connection': connection });
}
function App() {
  const [showLong, setShowLong] = useState(true);
  return h(JobcastProvider, { client },
    h(One), h(Many), showLong ? h(Long) : null,
    h('button', { id: 'unmount', onClick: () => setShowLong(false) }, 'unmount'));
}
createRoot(document.getElementById('root')).render(h(App));
`),
    );
    const t = await openPage(browser, url);
    try {
      const attr = (selector: string, name: string) => t.page.getAttribute(selector, name);
      await waitFor(async () => (await attr('#long', 'data-state')) === 'active', 'the long job running', 15_000);
      expect(await attr('#long', 'data-connection')).toBe('live');
      const openStreams = () => t.page.evaluate('window.jobcastStreams.open') as Promise<number>;
      await waitFor(async () => (await attr('#one', 'data-finished-at')) !== '', 'useJob to see the job end', 20_000);
      expect({
        state: await attr('#one', 'data-state'),
        progress: await attr('#one', 'data-progress'),
        seenProgress: await attr('#one', 'data-seen-progress'),
        done: await attr('#one', 'data-done'),
        logs: await attr('#one', 'data-logs'),
        connection: await attr('#one', 'data-connection'),
      }).toEqual({
        state: 'completed',
        progress: '100',
        seenProgress: 'true',
        done: 'completed',
        logs: '5',
        connection: 'closed',
      });
      await waitFor(async () => (await attr('#many', 'data-done')) === 'completed,completed', 'useJobs done', 20_000);
      expect(await attr('#many', 'data-connection')).toBe('closed');
      // Only the long job's stream is still open; unmounting its component closes it.
      await waitFor(async () => (await openStreams()) === 1, 'the finished streams closed');
      await t.page.click('#unmount');
      await waitFor(async () => (await openStreams()) === 0, 'the stream closed on unmount');
      // One stream per hook: the two jobs of useJobs share one.
      const paths = t.streams.urls.map((u) => new URL(u).pathname);
      expect(paths.filter((p) => p === '/events')).toHaveLength(1);
      expect(paths).toHaveLength(3);
      expect(t.errors).toEqual([]);
    } finally {
      await t.close();
      // Stopped, not left running: the worker's close would wait SHUTDOWN_TIMEOUT_MS (10 s) for it.
      await fetch(`${h.url}/jobs/${long}/cancel`, { method: 'POST', headers: bearer(KEY_A) });
    }
  });
});

describe('what progress tells beyond the percentage, and the feed, from @jobcast/react in Chromium', () => {
  it("useJob/useJobs carry eta, expected start, tags; useJobs(ids, { summary: true }) the summary; useFeed the key's jobs", async () => {
    const tag = `react-${Math.random().toString(36).slice(2, 8)}`;
    const post = async (body: object) => {
      const res = await fetch(`${h.url}/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...bearer(KEY_A) },
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(202);
      return ((await res.json()) as { id: string }).id;
    };
    const url = serve(
      'react-derived',
      `<!doctype html><html lang="en"><title>react</title><link rel="icon" href="data:,"><div id="root"></div><script type="module" src="/react-derived.js"></script></html>`,
      await bundle(`import { createElement as h } from 'react';
import { createRoot } from 'react-dom/client';
import { JobcastClient } from '@jobcast/client';
import { JobcastProvider, useFeed, useJob, useJobs } from '@jobcast/react';

const client = new JobcastClient({ baseUrl: '${h.url}', apiKey: '${KEY_A}' });
// The jobs, submitted once the page is built (a job must not be over before it is watched).
const ids = Object.fromEntries(new URLSearchParams(location.search));
const seen = (window.seen = { eta: [], expectedStartAt: [], summaries: [] });
function Running() {
  const { eta, rate, tags, stalled, job } = useJob(ids.running);
  if (eta && rate > 0) seen.eta.push(eta);
  return h('output', { id: 'running', 'data-tags': (tags ?? []).join(','), 'data-stalled': String(stalled), 'data-state': job?.state ?? '' });
}
function Delayed() {
  const { expectedStartAt, queuePosition, job } = useJob(ids.delayed);
  if (expectedStartAt) seen.expectedStartAt.push(expectedStartAt);
  return h('output', { id: 'delayed', 'data-state': job?.state ?? '', 'data-place': String(queuePosition) });
}
function Group() {
  const { summary } = useJobs([ids.a, ids.b], { summary: true });
  if (summary) seen.summaries.push(summary);
  return h('output', { id: 'group', 'data-summary': summary ? summary.completed + '/' + summary.total + ' ' + summary.progress : '' });
}
function Feed() {
  const { jobs, connection } = useFeed({ tag: [ids.tag], maxJobs: 2 });
  return h('output', { id: 'feed', 'data-connection': connection, 'data-jobs': jobs.map((j) => j.id + ':' + j.state + ':' + (j.type ?? '')).join(',') });
}
createRoot(document.getElementById('root')).render(h(JobcastProvider, { client }, h(Running), h(Delayed), h(Group), h(Feed)));
`),
    );
    const running = await post({ type: 'simulate', data: { steps: 20, stepMs: 200 }, tags: [tag] });
    const delayed = await post({ type: 'simulate', data: { steps: 1, stepMs: 0 }, options: { delayMs: 8000 } });
    const { items } = await submit([
      { steps: 3, stepMs: 100 },
      { steps: 5, stepMs: 100 },
    ]);
    const [a, b] = items.map((job) => job.id) as [string, string];
    const t = await openPage(browser, `${url}?${new URLSearchParams({ running, delayed, a, b, tag })}`);
    try {
      const attr = (selector: string, name: string) => t.page.getAttribute(selector, name);
      type Seen = { eta: string[]; expectedStartAt: string[]; summaries: { total: number; completed: number }[] };
      const seen = () => t.page.evaluate('window.seen') as Promise<Seen>;
      await waitFor(async () => (await attr('#running', 'data-state')) === 'completed', 'the running job done', 20_000);
      expect((await seen()).eta.length).toBeGreaterThan(0);
      expect(await attr('#running', 'data-tags')).toBe(tag);
      // Done: nothing is stalled, nothing is left.
      expect(await attr('#running', 'data-stalled')).toBe('undefined');
      // While its delay runs it has no place yet, but an expected start: the end of the delay.
      await waitFor(async () => (await seen()).expectedStartAt.length > 0, 'the delayed job expected to start');
      expect(await attr('#delayed', 'data-state')).toBe('queued');
      expect(await attr('#delayed', 'data-place')).toBe('undefined');
      await waitFor(async () => (await attr('#group', 'data-summary')) === '2/2 100', 'the group summary at 2/2');
      expect((await seen()).summaries.every((s) => s.total === 2)).toBe(true);

      // The feed: new jobs with the tag, from another client, appear; at most 2 are kept.
      await waitFor(async () => (await attr('#feed', 'data-connection')) === 'live', 'the feed live');
      const first = await post({ type: 'simulate', data: { steps: 1, stepMs: 0 }, tags: [tag] });
      const untagged = await post({ type: 'simulate', data: { steps: 1, stepMs: 0 } });
      const second = await post({ type: 'simulate', data: { steps: 1, stepMs: 0 }, tags: [tag] });
      const third = await post({ type: 'simulate', data: { steps: 1, stepMs: 0 }, tags: [tag] });
      await waitFor(
        async () => (await attr('#feed', 'data-jobs')) === `${third}:completed:simulate,${second}:completed:simulate`,
        'the two newest tagged jobs, completed',
      );
      expect(await attr('#feed', 'data-jobs')).not.toContain(untagged);
      expect(await attr('#feed', 'data-jobs')).not.toContain(first);
      expect(t.errors).toEqual([]);
    } finally {
      await t.close();
    }
  });
});

describe('the root package', () => {
  it('ships the compiled service, the CLI bundle and defineJobType with its types — no TypeScript sources', () => {
    const [packed] = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: repoRoot, encoding: 'utf8' }),
    ) as [{ files: { path: string }[] }];
    const files = packed.files.map((f) => f.path);
    for (const file of [
      'bin/jobcast.mjs',
      'dist/cli.js',
      'dist/main.js',
      'dist/worker.js',
      'dist/start-all.js',
      'dist/job-type.js',
      'dist/types/job-type.d.ts',
      'dist/web/app.js',
      'openapi.yaml',
    ]) {
      expect(files, file).toContain(file);
    }
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  });

  it('`npm i -g` puts `jobcast` on PATH, and it talks to the server', async () => {
    const prefix = join(dir, 'global');
    npm(['install', '--global', '--offline', '--prefix', prefix, repoRoot], dir);
    const env = {
      ...process.env,
      PATH: `${join(prefix, 'bin')}:${process.env.PATH}`,
      JOBCAST_URL: h.url,
      JOBCAST_API_KEY: KEY_A,
    };
    const help = await run('jobcast', ['--help'], { env });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^jobcast — submit jobs and watch their progress/);
    const watched = await run('jobcast', ['submit', 'simulate', '--data', '{"steps":2,"stepMs":10}', '--watch'], {
      env,
    });
    expect(watched.stderr).toMatch(/^submitted [0-9a-f-]{36}\n/);
    expect(watched.stdout).toContain('completed');
    expect(watched.status).toBe(0);
  });
});

describe('@jobcast/cli', () => {
  it('installs alone from its tarball: one file, nothing else installed, and it talks to the server', async () => {
    const tarball = join(dir, 'jobcast-cli-0.1.0.tgz');
    const files = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).split('\n').filter(Boolean).sort();
    expect(files).toEqual(['package/README.md', 'package/dist/jobcast.js', 'package/package.json']);
    const prefix = join(dir, 'cli-global');
    npm(['install', '--global', '--offline', '--prefix', prefix, tarball], dir);
    // The root package brings the whole service's dependencies (~70 MB); this one nothing.
    expect(readdirSync(join(prefix, 'lib', 'node_modules'))).toEqual(['@jobcast']);
    expect(readdirSync(join(prefix, 'lib', 'node_modules', '@jobcast', 'cli')).sort()).toEqual([
      'README.md',
      'dist',
      'package.json',
    ]);
    const env = {
      ...process.env,
      PATH: `${join(prefix, 'bin')}:${process.env.PATH}`,
      JOBCAST_URL: h.url,
      JOBCAST_API_KEY: KEY_A,
    };
    expect((await run('jobcast', ['--version'], { env })).stdout).toBe('jobcast 0.1.0\n');
    const watched = await run('jobcast', ['submit', 'simulate', '--data', '{"steps":2,"stepMs":10}', '--watch'], {
      env,
    });
    expect(watched.stderr).toMatch(/^submitted [0-9a-f-]{36}\n/);
    expect(watched.stdout).toContain('completed');
    expect(watched.status).toBe(0);
  });
});
