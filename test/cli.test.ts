/**
 * The `jobcast` command against a real server. Its commands, output and exit codes run
 * in-process (`runCli`, what the binary runs, with pipes for stdout and stderr); the binary
 * itself is spawned where only a real process shows it: on pipes (`node bin/jobcast.mjs`), on
 * a real Ctrl-C (SIGINT), and on a pseudo-terminal.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pkg from '../package.json' with { type: 'json' };
import { JobcastClient } from '../packages/client/src/index.js';
import { parseInvocation } from '../src/cli/args.js';
import { barLine, duration, statusNote } from '../src/cli/bar.js';
import { UsageError } from '../src/cli/exit.js';
import { PlainView } from '../src/cli/render.js';
import { runCli } from '../src/cli/run.js';
import { JobStore } from '../src/jobs/store.js';
import { type Harness, startHarness, waitFor } from './support/harness/harness.js';
import { KEY_A, startKeyedHarness } from './support/http/security.js';
import { startTcpProxy } from './support/http/tcp-proxy.js';
import { freePort } from './support/runner/global-setup.js';

const BIN = fileURLToPath(new URL('../bin/jobcast.mjs', import.meta.url));
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;
const ESC = '\x1b';
const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

let h: Harness;
let client: JobcastClient;
let store: JobStore;
beforeAll(async () => {
  h = await startHarness({ env: { SSE_RETRY_MS: '100' } });
  client = new JobcastClient({ baseUrl: h.url });
  store = new JobStore(h.redis, {
    prefix: h.config.KEY_PREFIX,
    logMaxLines: h.config.JOB_LOG_MAX_LINES,
    retentionSeconds: h.config.JOB_RETENTION_SECONDS,
  });
});
afterAll(async () => {
  await h.close();
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

interface Running {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  done: Promise<Run>;
}

/** Starts the CLI (or `command` with `args`) with JOBCAST_URL pointing at the harness. */
function start(args: string[], env: Record<string, string> = {}, command = [process.execPath, BIN]): Running {
  const began = Date.now();
  const [file, ...pre] = command as [string, ...string[]];
  const child = spawn(file, [...pre, ...args], {
    env: { ...process.env, JOBCAST_URL: h.url, JOBCAST_API_KEY: '', NO_COLOR: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const done = new Promise<Run>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - began }));
  });
  return { child, stdout: () => stdout, stderr: () => stderr, done };
}

const cli = (args: string[], env?: Record<string, string>) => start(args, env).done;

/**
 * Runs the CLI in this process: `runCli` (what bin/jobcast.mjs runs, minus setting the exit code)
 * with pipes for stdout and stderr. For everything but what only a real process shows (the
 * binary itself, a real SIGINT, a terminal), this proves the same at no process start.
 */
function startInProcess(args: string[], env: Record<string, string> = {}): Omit<Running, 'child'> {
  const began = Date.now();
  let stdout = '';
  let stderr = '';
  const pipe = (append: (chunk: string) => void) => {
    const stream = new PassThrough();
    stream.setEncoding('utf8').on('data', append);
    return stream as unknown as NodeJS.WriteStream;
  };
  const io = {
    stdout: pipe((chunk) => {
      stdout += chunk;
    }),
    stderr: pipe((chunk) => {
      stderr += chunk;
    }),
    stdin: new PassThrough() as unknown as NodeJS.ReadStream,
    env: { JOBCAST_URL: h.url, JOBCAST_API_KEY: '', NO_COLOR: '', ...env },
  };
  const done = runCli(args, io).then(async (code) => {
    // Let what was written reach the strings.
    await new Promise((resolve) => setImmediate(resolve));
    return { code, stdout, stderr, ms: Date.now() - began };
  });
  return { stdout: () => stdout, stderr: () => stderr, done };
}

const cliInProcess = (args: string[], env?: Record<string, string>) => startInProcess(args, env).done;
const lines = (text: string) => text.split('\n').filter(Boolean);

describe('jobcast submit --watch / watch (not a terminal)', () => {
  it('follows a job to completed: one plain line per event, exit 0', async () => {
    // Delayed a little so that the watch is connected before the first step.
    const run = await cli(['submit', 'simulate', '--data', '{"steps":4,"stepMs":50}', '--delay-ms', '300', '--watch']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(new RegExp(`submitted ${UUID.source}`));
    const out = lines(run.stdout);
    // Queued until its delay ends, with when it starts (or, once due, its place).
    expect(out.some((l) => /^0% \(queued(, .+)?\)$/.test(l))).toBe(true);
    // Progress is conflated (latest wins), so which steps show is not fixed; their order is.
    const steps = out.filter((l) => /^\d+% step \d of 4$/.test(l));
    expect(steps.length).toBeGreaterThanOrEqual(2);
    expect(steps).toEqual([...steps].sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10)));
    expect(out.at(-1)).toBe('completed {"steps":4}');
    expect(run.stdout).not.toMatch(new RegExp(`[\r${ESC}]`));
  });

  it('exits 1 with the error when the job fails', async () => {
    const run = await cliInProcess(['submit', 'simulate', '-d', '{"steps":5,"stepMs":20,"failAtStep":2}', '-w']);
    expect(run.code, run.stderr).toBe(1);
    expect(lines(run.stdout).at(-1)).toBe('failed: simulated failure at step 2 of 5');
  });

  it('exits 3 when another invocation cancels the running job', async () => {
    const submitted = await cliInProcess(['submit', 'simulate', '--data', '{"steps":200,"stepMs":50}']);
    expect(submitted.code, submitted.stderr).toBe(0);
    const id = submitted.stdout.trim();
    expect(id).toMatch(UUID);
    const watcher = startInProcess(['watch', id]);
    await waitFor(() => /step \d+ of 200/.test(watcher.stdout()), 'the watcher to show progress');
    const cancel = await cliInProcess(['cancel', id]);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.stdout).toContain(id);
    const run = await watcher.done;
    expect(run.code, run.stderr).toBe(3);
    expect(lines(run.stdout).at(-1)).toMatch(/^cancelled/);
  });

  it('resumes after the connection drops, says so, and repeats nothing', async () => {
    const job = await client.submit('simulate', { steps: 200, stepMs: 50 });
    const watcher = startInProcess(['watch', job.id]);
    await waitFor(() => /step \d+ of 200/.test(watcher.stdout()), 'progress before the drop');
    h.api.connections.endAll();
    await waitFor(() => /reconnected\n.*step \d+ of 200/.test(watcher.stdout()), 'progress after the drop');
    await client.cancel(job.id);
    const run = await watcher.done;
    expect(run.code, run.stderr).toBe(3);
    const out = lines(run.stdout);
    expect(out).toContain('reconnecting…');
    const percents = out.filter((l) => /^\d+%/.test(l)).map((l) => Number.parseInt(l, 10));
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect(new Set(out).size).toBe(out.length);
  });

  it('finds the server again late in JOBCAST_GIVE_UP_MS: attempts keep coming to the end of the window', async () => {
    // The waits between attempts grew to 30 s: an outage of most of the window (a restart) let
    // the next attempt fall after the give-up, and the watch gave up on a server that was back.
    const apiPort = Number(new URL(h.url).port);
    const proxy = await startTcpProxy(apiPort);
    // Down: what the proxy has is cut, and what it gets goes to a port where nothing listens.
    const nowhere = await freePort();
    try {
      const job = await client.submit('simulate', { steps: 400, stepMs: 50 });
      const watcher = startInProcess(['watch', job.id], { JOBCAST_URL: proxy.url, JOBCAST_GIVE_UP_MS: '4000' });
      await waitFor(() => /step \d+ of 400/.test(watcher.stdout()), 'progress before the outage');
      proxy.switchTo(nowhere);
      proxy.cutAll();
      const downAt = Date.now();
      await waitFor(() => watcher.stdout().includes('reconnecting…'), 'the watcher to notice');
      // Down for 60% of the window: refused attempts all along, growing waits between them.
      await waitFor(
        () => Date.now() - downAt >= 2_400 && (proxy.acceptedBy.get(nowhere) ?? 0) >= 2,
        'the outage to last',
      );
      proxy.switchTo(apiPort);
      await waitFor(() => /reconnected\n.*step \d+ of 400/.test(watcher.stdout()), 'progress after the outage');
      await client.cancel(job.id);
      const run = await watcher.done;
      expect(run.code, run.stderr).toBe(3);
      expect(run.stderr).not.toContain('cannot reach');
    } finally {
      await proxy.close();
    }
  });

  it('stops watching on Ctrl-C (exit 130) without cancelling the job, and prints log lines', async () => {
    const job = await client.submit('simulate', { steps: 2 }, { options: { delayMs: 60_000 } });
    const watcher = start(['watch', job.id]);
    await waitFor(() => watcher.stdout().includes('(queued)'), 'the watcher to connect');
    // A log line with an escape sequence in it: shown, but without the escape.
    await store.log(job.id, 'hello \x1b[31mfrom the test');
    await waitFor(() => watcher.stdout().includes('log: hello'), 'the log line');
    watcher.child.kill('SIGINT');
    const run = await watcher.done;
    expect(run.code).toBe(130);
    expect(run.stdout).toContain('log: hello [31mfrom the test');
    expect(run.stdout).not.toContain('\x1b');
    expect(run.stderr).toMatch(/keeps running/);
    expect((await client.get(job.id)).state).toBe('queued');
    await client.cancel(job.id);
  });
});

describe('jobcast command line (parsed in-process)', () => {
  const parse = (argv: string[], env: Record<string, string> = {}) => parseInvocation(argv, env);

  it('reads commands, options anywhere, and the environment', () => {
    expect(parse(['--json', 'get', 'x'])).toMatchObject({ command: { name: 'get', id: 'x' }, json: true });
    expect(parse(['get', 'x', '--url', 'http://h:1'], { JOBCAST_URL: 'http://env:2' }).url).toBe('http://h:1');
    expect(parse(['get', 'x'], { JOBCAST_URL: 'http://env:2', JOBCAST_API_KEY: 'k' })).toMatchObject({
      url: 'http://env:2',
      apiKey: 'k',
      giveUpMs: 30_000,
    });
    expect(parse(['submit', 'simulate', '-w', '--attempts', '3', '--delay-ms', '0'])).toMatchObject({
      command: { name: 'submit', type: 'simulate', watch: true, options: { attempts: 3, delayMs: 0 } },
    });
    expect(parse(['list', '--state', 'active', '--limit', '5']).command).toEqual({
      name: 'list',
      query: { state: 'active', limit: 5 },
    });
    expect(parse(['submit', 'simulate', '-t', 'nightly', '--tag', 'eu']).command).toMatchObject({
      tags: ['nightly', 'eu'],
    });
    expect(parse(['list', '--tag', 'eu']).command).toEqual({ name: 'list', query: { tag: 'eu' } });
    expect(parse(['help', 'list']).command).toEqual({ name: 'help', topic: 'list' });
    expect(parse(['list', '-h']).command).toEqual({ name: 'help', topic: 'list' });
    expect(parse(['--version']).command).toEqual({ name: 'version' });
    expect(parse(['-v']).command).toEqual({ name: 'version' });
  });

  it('rejects bad usage with a UsageError naming the command', () => {
    const cases: [string[], RegExp, string?][] = [
      [[], /no command/],
      [['--bogus'], /Unknown option '--bogus'/],
      [['frobnicate'], /unknown command "frobnicate"/],
      [['get'], /missing a job id/, 'get'],
      [['get', 'a', 'b'], /unexpected argument "b"/, 'get'],
      [['submit'], /missing a job type/, 'submit'],
      [['watch', 'x', '--bogus'], /Unknown option '--bogus'/, 'watch'],
      [['list', '--state', 'sleeping'], /--state must be one of queued, active/, 'list'],
      [['submit', 'simulate', '--attempts=-1'], /--attempts must be a whole number, not "-1"/, 'submit'],
      [['submit', 'simulate', '--attempts', '-1'], /ambiguous/, 'submit'],
      [['list', '--limit'], /argument missing/, 'list'],
      [['get', 'x', '--url', 'ftp://example.com'], /must be http/],
      [['get', 'x', '--url', 'not a url'], /not a URL/],
    ];
    for (const [argv, message, command] of cases) {
      const error = (() => {
        try {
          parse(argv);
        } catch (e) {
          return e;
        }
      })();
      expect(error, argv.join(' ')).toBeInstanceOf(UsageError);
      expect((error as UsageError).message, argv.join(' ')).toMatch(message);
      expect((error as UsageError).command, argv.join(' ')).toBe(command);
    }
    expect(() => parse(['get', 'x'], { JOBCAST_GIVE_UP_MS: 'soon' })).toThrow(UsageError);
  });

  it('fits the progress-bar line to the terminal width', () => {
    const state = { progress: 42, message: 'step 4 of 10', status: 'active' };
    expect(barLine(state, 80)).toBe(`[${'█'.repeat(12)}${'░'.repeat(16)}] 42%  step 4 of 10  (active)`);
    // The bar keeps its width when the state's label changes.
    expect(barLine({ ...state, status: 'reconnecting…' }, 80).indexOf(']')).toBe(barLine(state, 80).indexOf(']'));
    for (const columns of [120, 80, 50, 40, 30, 20]) {
      const line = barLine({ ...state, message: 'x'.repeat(200) }, columns);
      expect(Array.from(line).length, `${columns}: ${line}`).toBeLessThan(columns);
      expect(line).toMatch(/^\[█+░+\]/);
    }
    expect(barLine({ progress: 100, status: 'completed' }, 200)).toMatch(/^\[█{40}\] 100% {2}\(completed\)$/);
  });

  it('says the time left, the place in the queue, or that the job is stalled', () => {
    const at = '2026-12-06T07:00:00.000Z';
    const now = Date.parse(at);
    const base = { jobId: 'x', progress: 40, attempt: 1, at };
    expect(statusNote({ ...base, state: 'active', rate: 10, eta: '2026-12-06T07:00:06.200Z' }, now)).toBe('7s left');
    expect(statusNote({ ...base, state: 'active', eta: '2026-12-06T07:04:10.000Z' }, now)).toBe('4m 10s left');
    expect(statusNote({ ...base, state: 'active', eta: at, stalled: true }, now)).toBe('stalled');
    expect(statusNote({ ...base, state: 'active' }, now)).toBeUndefined();
    const queued = { ...base, progress: 0, state: 'queued' as const };
    expect(statusNote({ ...queued, queuePosition: 3, expectedStartAt: '2026-12-06T07:00:20.000Z' }, now)).toBe(
      '#3 in queue, starts in ~20s',
    );
    expect(statusNote({ ...queued, queuePosition: 1 }, now)).toBe('#1 in queue');
    expect(statusNote({ ...queued, expectedStartAt: at }, now)).toBe('starts soon');
    expect(duration(3_723_000)).toBe('1h 2m');
    expect(duration(60_000)).toBe('1m');
    expect(duration(61_000)).toBe('1m 1s');
    const line = barLine({ progress: 40, message: 'step 4 of 10', status: 'active', note: '7s left' }, 80);
    expect(line).toMatch(/ 40% {2}step 4 of 10 {2}\(active, 7s left\)$/);
  });

  it("plain lines say a queued job's place and start, and a stalled job's stall", () => {
    let text = '';
    const view = new PlainView({ write: (chunk: string) => (text += chunk) });
    const at = new Date().toISOString();
    const base = { jobId: 'x', attempt: 1, at };
    const start = new Date(Date.now() + 40_000).toISOString();
    view.event({
      type: 'progress',
      jobId: 'x',
      seq: 1,
      data: { ...base, state: 'queued', progress: 0, queuePosition: 3, expectedStartAt: start },
    });
    // The same state again (a resumed stream), its start read a few seconds nearer: not printed twice.
    view.event({
      type: 'progress',
      jobId: 'x',
      seq: 1,
      data: {
        ...base,
        state: 'queued',
        progress: 0,
        queuePosition: 3,
        expectedStartAt: new Date(Date.now() + 35_000).toISOString(),
      },
    });
    view.event({
      type: 'progress',
      jobId: 'x',
      seq: 2,
      data: { ...base, state: 'active', progress: 40, message: 'step 4 of 10' },
    });
    view.event({
      type: 'progress',
      jobId: 'x',
      seq: 2,
      data: { ...base, state: 'active', progress: 40, message: 'step 4 of 10', stalled: true },
    });
    expect(lines(text)).toEqual([
      '0% (queued, #3 in queue, starts in ~40s)',
      '40% step 4 of 10',
      '40% step 4 of 10 (stalled)',
    ]);
  });
});

describe('jobcast get / list / logs / submit --json', () => {
  it('prints JSON that parses, and readable text without --json', async () => {
    const submitted = await cliInProcess(['submit', 'simulate', '--json', '--delay-ms', '60000', '--attempts', '2']);
    expect(submitted.code, submitted.stderr).toBe(0);
    const job = JSON.parse(submitted.stdout) as { id: string; state: string; maxAttempts: number };
    expect(job).toMatchObject({ state: 'queued', maxAttempts: 2 });
    await store.log(job.id, 'first line');

    const [get, logs, plainGet, unlisted] = await Promise.all([
      cliInProcess(['get', job.id, '--json']),
      cliInProcess(['logs', job.id, '--json']),
      cliInProcess(['get', job.id]),
      cliInProcess(['list', '--limit', '5']),
    ]);
    for (const run of [get, logs, plainGet]) expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(get.stdout)).toMatchObject({ id: job.id, state: 'queued' });
    expect(JSON.parse(logs.stdout)).toMatchObject({ items: [{ line: 'first line' }], truncated: false });
    expect(plainGet.stdout).toMatch(/^state\s+queued$/m);
    // This service runs without keys: it lists nothing, and says why (an API problem, exit 4).
    expect(unlisted.code, unlisted.stderr).toBe(4);
    expect(unlisted.stderr).toMatch(/needs an API key/i);
    expect(unlisted.stdout).toBe('');

    // With a key, `list` shows that key's jobs.
    const keyed = await startKeyedHarness({}, { worker: false });
    try {
      const env = { JOBCAST_URL: keyed.url, JOBCAST_API_KEY: KEY_A };
      const mine = await cliInProcess(['submit', 'simulate', '--json'], env);
      const mineId = (JSON.parse(mine.stdout) as { id: string }).id;
      const [list, plainList] = await Promise.all([
        cliInProcess(['--json', 'list', '--state', 'queued', '--type', 'simulate', '--limit', '5'], env),
        cliInProcess(['list', '--limit', '5'], env),
      ]);
      for (const run of [list, plainList]) expect(run.code, run.stderr).toBe(0);
      expect((JSON.parse(list.stdout) as { items: { id: string }[] }).items.map((j) => j.id)).toEqual([mineId]);
      expect(plainList.stdout).toMatch(/^ID\s+TYPE\s+STATE/);
      expect(plainList.stdout).toContain(mineId);
    } finally {
      await keyed.close();
    }

    const cancelled = await cliInProcess(['cancel', job.id, '--json']);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(JSON.parse(cancelled.stdout)).toMatchObject({ id: job.id, state: 'cancelled' });
  });
});

describe('jobcast batch', () => {
  it('submits a file of jobs, all or none, printing one id per line (--json: the batch); a bad job is exit 4 naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jobcast-batch-'));
    try {
      const listFile = join(dir, 'list.json');
      writeFileSync(
        listFile,
        JSON.stringify([{ type: 'simulate', data: { steps: 1, stepMs: 0 } }, { type: 'simulate' }]),
      );
      const envelopeFile = join(dir, 'envelope.json');
      // As a Windows editor saves it: a byte order mark first (RFC 8259 §8.1 lets it be ignored).
      writeFileSync(
        envelopeFile,
        `\ufeff${JSON.stringify({ jobs: [{ type: 'simulate', options: { delayMs: 60_000 } }] })}`,
      );
      const badFile = join(dir, 'bad.json');
      writeFileSync(badFile, JSON.stringify([{ type: 'simulate' }, { type: 'simulate', data: { steps: 0 } }]));

      const plain = await cliInProcess(['batch', listFile]);
      expect(plain.code, plain.stderr).toBe(0);
      const ids = lines(plain.stdout);
      expect(ids).toHaveLength(2);
      for (const id of ids) expect(id).toMatch(new RegExp(`^${UUID.source}$`));
      await waitFor(
        async () => (await Promise.all(ids.map((id) => client.get(id)))).every((j) => j.state === 'completed'),
        'the batch done',
      );

      const json = await cliInProcess(['batch', envelopeFile, '--json']);
      expect(json.code, json.stderr).toBe(0);
      const batch = JSON.parse(json.stdout) as { items: { id: string; runAt?: string }[]; links: { events: string } };
      expect(batch.items).toHaveLength(1);
      expect(batch.items[0]?.runAt).toBeDefined();
      expect(batch.links.events).toBe(`/events?jobs=${batch.items[0]?.id}&summary=true`);

      const bad = await cliInProcess(['batch', badFile]);
      expect(bad.code).toBe(4);
      expect(bad.stderr).toMatch(/jobs\.1\.data\.steps/);
      expect(bad.stdout).toBe('');

      const missing = await cliInProcess(['batch', join(dir, 'nope.json')]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/cannot read .*nope\.json/);
      // What was read was wrong, not the command: its line and a pointer, not the usage text.
      const badJson = await cliInProcess(['submit', 'simulate', '--data', '{bad']);
      for (const run of [missing, badJson]) {
        expect(run.code).toBe(2);
        expect(lines(run.stderr), run.stderr).toHaveLength(2);
        expect(run.stderr).toMatch(/\n\(jobcast (batch|submit) --help for the usage\)\n$/);
      }
      expect(badJson.stderr).toMatch(/is not valid JSON/);
      const notAList = join(dir, 'object.json');
      writeFileSync(notAList, '{"type":"simulate"}');
      expect((await cliInProcess(['batch', notAList])).code).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('jobcast exit codes', () => {
  it('exits 4 with the problem on stderr when the API says no', async () => {
    const [get, watch, invalid] = await Promise.all([
      cliInProcess(['get', UNKNOWN_ID]),
      cliInProcess(['watch', UNKNOWN_ID]),
      cliInProcess(['submit', 'simulate', '--data', '{"steps":0}']),
    ]);
    for (const run of [get, watch]) {
      expect(run.code, run.stderr).toBe(4);
      expect(run.stderr).toMatch(/not found \(404\)/i);
      expect(run.stderr).toContain(UNKNOWN_ID);
    }
    expect(invalid.code).toBe(4);
    expect(invalid.stderr).toMatch(/Validation failed \(422\).*data\.steps/);
  });

  it('exits 2 with usage text on bad usage', async () => {
    const [unknown, badValue, help, version] = await Promise.all([
      cliInProcess(['frobnicate']),
      cliInProcess(['list', '--limit', 'ten']),
      cliInProcess(['submit', '--help']),
      cliInProcess(['--version']),
    ]);
    for (const run of [unknown, badValue]) {
      expect(run.code, run.stderr).toBe(2);
      expect(run.stdout).toBe('');
    }
    expect(unknown.stderr).toMatch(/^jobcast: unknown command "frobnicate"\n\njobcast — .*\n\nUsage:\n/);
    expect(badValue.stderr).toMatch(/^jobcast: --limit must be a whole number, not "ten"\n\nUsage: jobcast list/);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: jobcast submit <type>/);
    expect(version.code).toBe(0);
    expect(version.stdout).toBe(`jobcast ${pkg.version}\n`);
  });

  it('exits 5 when the server cannot be reached, watch after JOBCAST_GIVE_UP_MS', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const [watch, get] = await Promise.all([
      cliInProcess(['watch', UNKNOWN_ID], { JOBCAST_URL: url, JOBCAST_GIVE_UP_MS: '1000' }),
      cliInProcess(['get', UNKNOWN_ID, '--url', url]),
    ]);
    for (const run of [watch, get]) {
      expect(run.code, run.stderr).toBe(5);
      expect(run.stderr).toContain(`cannot reach ${url}`);
    }
    expect(watch.stdout).toContain('reconnecting…');
    // 1 s of retrying plus the start of a process on a busy machine.
    expect(watch.ms).toBeGreaterThanOrEqual(1_000);
    expect(watch.ms).toBeLessThan(10_000);
  });

  it('sends --api-key / JOBCAST_API_KEY as a bearer token', async () => {
    const seen: (string | undefined)[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(401, { 'content-type': 'application/problem+json' });
      res.end(JSON.stringify({ type: '/problems/unauthorized', title: 'Unauthorized', status: 401 }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const runs = await Promise.all([
        cliInProcess(['get', UNKNOWN_ID, '--api-key', 'k1'], { JOBCAST_URL: url }),
        cliInProcess(['get', UNKNOWN_ID], { JOBCAST_URL: url, JOBCAST_API_KEY: 'k2' }),
      ]);
      for (const run of runs) {
        expect(run.code).toBe(4);
        expect(run.stderr).toContain('Unauthorized (401)');
      }
      expect(seen.sort()).toEqual(['Bearer k1', 'Bearer k2']);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

const hasScript = (() => {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!hasScript)('jobcast watch on a terminal (util-linux script)', () => {
  /** Runs the CLI under a pseudo-terminal `cols` wide; stdout is everything the terminal got. */
  const underPty = (args: string, env: Record<string, string> = {}, cols = 60) =>
    start(['-qfec', `stty cols ${cols} && ${process.execPath} ${BIN} ${args}`, '/dev/null'], env, ['script']);

  it('redraws one progress-bar line in place and ends with ✔ and the result', async () => {
    const run = await underPty(`submit simulate --data '{"steps":4,"stepMs":60}' --delay-ms 300 --watch`).done;
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const redraws = run.stdout.split('\r\x1b[2K').slice(1);
    expect(redraws.length).toBeGreaterThanOrEqual(4);
    expect(run.stdout).toMatch(/\[█+░+\] \d\d% {2}step \d of 4 {2}\(active(, \d+s left)?\)/);
    expect(run.stdout).toMatch(/\[█+\] 100% step 4 of 4 {2}\(completed\)/);
    // Fitted to the 60-column terminal, last column left free.
    for (const line of redraws) expect(Array.from(line.split('\r\n')[0] as string).length).toBeLessThanOrEqual(59);
    expect(run.stdout).toContain('\x1b[32m✔\x1b[0m completed {"steps":4}');
  });

  it('shows reconnecting… in the bar line after a drop, and ■ when cancelled', async () => {
    const job = await client.submit('simulate', { steps: 200, stepMs: 50 });
    const watcher = underPty(`watch ${job.id}`, {}, 80);
    // The bar counts the job's ETA down: 200 steps of 50 ms.
    await waitFor(() => /step \d+ of 200 {2}\(active, \d+s left\)/.test(watcher.stdout()), 'the bar with its ETA');
    h.api.connections.endAll();
    const reconnecting = `(${ESC}[33mreconnecting…${ESC}[0m)`;
    await waitFor(() => {
      const out = watcher.stdout();
      return out.includes(reconnecting) && out.slice(out.lastIndexOf(reconnecting)).includes('(active, ');
    }, 'the bar live again after a drop');
    await client.cancel(job.id);
    const run = await watcher.done;
    expect(run.code, run.stdout).toBe(3);
    expect(run.stdout).toContain(`■${ESC}[0m cancelled`);
  });

  it('shows a failure with ✖, without colour under NO_COLOR', async () => {
    const run = await underPty(`submit simulate -d '{"steps":4,"stepMs":20,"failAtStep":3}' -w`, { NO_COLOR: '1' })
      .done;
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stdout).toContain('\r\x1b[2K[');
    expect(run.stdout).toContain('✖ failed: simulated failure at step 3 of 4');
    expect(run.stdout).not.toMatch(new RegExp(`${ESC}\\[\\d+m`));
  });
});
