#!/usr/bin/env node
/**
 * The CPU a start costs, per compiled entry point, side by side for several builds of `dist/`:
 * CPU time until the process is ready (the API answers /healthz, a worker logged "worker
 * started", `start-all` did both), and over its whole life when stopped (SIGTERM) at once — what
 * a test that starts a process and stops it again pays. `cluster` is the API with
 * API_PROCESSES=2, ready when the primary logs that both listen: until then, the primary's own
 * CPU; over its life, its processes' too. The machine this runs on has few cores
 * and many processes: CPU, not wall time, is what a shorter test run needs.
 *
 *   node --import tsx bench/startup-cpu.mjs [--runs 10] [--entries api,worker,all,cluster] [--dist name=DIR …]
 *
 * Each `--dist` is a copy of a `dist/` directory (default: this checkout's `dist`), run from
 * where it lies: keep it inside a directory whose `node_modules` (or a link to it) holds the
 * dependencies, e.g. `mkdir -p /tmp/old && cp -r dist /tmp/old/ && ln -s $PWD/node_modules /tmp/old/`.
 * Runs alternate between the builds so that a busy machine slows them alike; the table shows
 * the median and the lowest of each. Needs /usr/bin/time (the CPU of a whole life, threads and
 * exited threads included) and `redis-server` on PATH: a private one is started on a free port
 * unless REDIS_URL names one to use.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
// (TypeScript, through tsx: the harness's own start is not what is measured.)
import { childPids, cpuMs, freePort } from './lib/proc.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    entries: { type: 'string', default: 'api,worker,all' },
    dist: { type: 'string', multiple: true },
  },
});
const runs = Number(values.runs);
const builds = (values.dist ?? [`dist=${join(root, 'dist')}`]).map((spec) => {
  const [name, dir] = spec.includes('=') ? spec.split(/=(.*)/s) : [spec, spec];
  return { name, dir: resolve(dir) };
});
const ENTRY_FILES = { api: 'main.js', worker: 'worker.js', all: 'start-all.js', cluster: 'main.js' };
/** `cluster`: the API as a primary and two API processes (API_PROCESSES=2). */
const ENTRY_ENV = { cluster: { API_PROCESSES: '2' } };
const entries = values.entries.split(',').map((e) => {
  if (!(e in ENTRY_FILES)) throw new Error(`unknown entry ${e}: one of ${Object.keys(ENTRY_FILES).join(', ')}`);
  return e;
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The API answers GET /healthz with 200 (what the tests' startApiProcess waits for). */
const healthy = (port) =>
  new Promise((ok) => {
    get({ host: '127.0.0.1', port, path: '/healthz' }, (res) => {
      res.resume();
      ok(res.statusCode === 200);
    }).on('error', () => ok(false));
  });

/** Starts `entry` of `build`, waits until it is ready, stops it; the CPU it took until ready and in all. */
async function measure(build, entry, env) {
  const port = await freePort();
  const timeFile = join(work, `time-${port}`);
  const child = spawn(
    '/usr/bin/time',
    ['-f', '%U %S', '-o', timeFile, process.execPath, join(build.dir, ENTRY_FILES[entry])],
    {
      cwd: dirname(build.dir),
      env: { ...env, ...ENTRY_ENV[entry], PORT: String(port), KEY_PREFIX: `b${port}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (c) => {
    out += c;
  });
  child.stderr.setEncoding('utf8').on('data', (c) => {
    err += c;
  });
  const exited = new Promise((r) => child.once('exit', r));
  let nodePid;
  const began = performance.now();
  const ready = async () => {
    if (entry === 'worker') return err.includes('"worker started"');
    if (entry === 'all') return err.includes('"worker started"') && out.includes('is running at');
    if (entry === 'cluster') return err.includes('"api processes listening"');
    return healthy(port);
  };
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${build.name} ${entry} exited early:\n${err}${out}`);
    nodePid ??= childPids(child.pid)[0];
    if (nodePid && (await ready())) break;
    if (performance.now() - began > 60_000)
      throw new Error(`${build.name} ${entry} not ready in 60 s (pid ${nodePid}):\n${err}${out}`);
    await sleep(10);
  }
  const readyMs = cpuMs(nodePid);
  const wallMs = performance.now() - began;
  process.kill(nodePid, 'SIGTERM');
  await exited;
  const [user, system] = readFileSync(timeFile, 'utf8').trim().split('\n').at(-1).split(' ').map(Number);
  return { readyMs, lifeMs: (user + system) * 1000, wallMs };
}

const work = mkdtempSync(join(tmpdir(), 'jobcast-startup-cpu-'));
const redisPort = process.env.REDIS_URL ? undefined : await freePort();
const redis =
  redisPort &&
  spawn(
    'redis-server',
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', work],
    { stdio: 'ignore' },
  );
try {
  if (redis) await sleep(300);
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    REDIS_URL: process.env.REDIS_URL ?? `redis://127.0.0.1:${redisPort}`,
    HOST: '127.0.0.1',
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'info',
    WORKER_METRICS_PORT: '0',
    SHUTDOWN_TIMEOUT_MS: '1000',
  };
  const results = new Map();
  for (let i = 0; i < runs; i++) {
    for (const entry of entries) {
      // Alternating builds, starting with a different one each run.
      for (let b = 0; b < builds.length; b++) {
        const build = builds[(b + i) % builds.length];
        const key = `${entry}\t${build.name}`;
        if (!results.has(key)) results.set(key, { readyMs: [], lifeMs: [], wallMs: [] });
        const r = await measure(build, entry, env);
        for (const k of ['readyMs', 'lifeMs', 'wallMs']) results.get(key)[k].push(r[k]);
      }
    }
  }
  console.log(`CPU per start, ${runs} runs each (median, lowest in brackets)`);
  console.log('| entry | build | CPU until ready | CPU start → SIGTERM → exit | wall until ready |');
  console.log('|---|---|---|---|---|');
  const cell = (xs) => `${median(xs).toFixed(0)} ms (${Math.min(...xs).toFixed(0)})`;
  for (const [key, r] of results) {
    const [entry, name] = key.split('\t');
    console.log(`| ${entry} | ${name} | ${cell(r.readyMs)} | ${cell(r.lifeMs)} | ${cell(r.wallMs)} |`);
  }
} finally {
  if (redis) redis.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
}
