#!/usr/bin/env node
/**
 * Start-up costs, side by side in one run: the API's cold start (spawn → "api listening") and
 * its idle RSS, and the CLI's `jobcast --help`, for each way of running them that exists in this
 * checkout (TypeScript through tsx, as in development; the compiled build in dist/).
 *
 *   node bench/startup.mjs [--runs 10] [--before DIR]
 *
 * `--before DIR` adds the same measurements of another checkout (e.g. `git archive <commit>`
 * unpacked in DIR, with a node_modules link), run as that checkout ran them.
 *
 * Needs `redis-server` on PATH (a private one is started on a free port) and, for the compiled
 * rows, `npm run build` first. Runs alternate between the ways so that a busy machine slows
 * them alike; the table shows the median and the fastest run of each.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' }, before: { type: 'string' } } });
const runs = Number(values.runs);
/** How long the API sits idle before its RSS is read. */
const IDLE_MS = 3_000;

/** [name, command, working directory] */
const apiWays = [
  ...(values.before
    ? [['before: tsx (src/main.ts)', [process.execPath, '--import', 'tsx', 'src/main.ts'], values.before]]
    : []),
  ['tsx (src/main.ts)', [process.execPath, '--import', 'tsx', 'src/main.ts'], root],
  ['compiled (dist/main.js)', [process.execPath, 'dist/main.js'], root],
].filter(([, command, cwd]) => existsSync(join(cwd, command.at(-1))));
const cliWays = [
  ['node -e 0 (Node itself, for scale)', [process.execPath, '-e', '0'], root],
  ...(values.before
    ? [['before: bin/jobcast.mjs', [process.execPath, 'bin/jobcast.mjs', '--help'], values.before]]
    : []),
  ['tsx (src/cli/main.ts)', [process.execPath, '--import', 'tsx', 'src/cli/main.ts', '--help'], root],
  ['bin/jobcast.mjs (dist/cli.js)', [process.execPath, 'bin/jobcast.mjs', '--help'], root],
];

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.once('error', reject);
  });

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const min = (xs) => Math.min(...xs);

/** Spawns the API, resolves with ms until it logged "api listening" and its RSS after IDLE_MS. */
function startApi(command, cwd, env) {
  return new Promise((resolve, reject) => {
    const began = performance.now();
    const [file, ...args] = command;
    const child = spawn(file, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let readyMs;
    // Logs go to stderr.
    child.stderr.setEncoding('utf8').on('data', (chunk) => {
      out += chunk;
      if (readyMs === undefined && out.includes('"api listening"')) {
        readyMs = performance.now() - began;
        setTimeout(() => {
          const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
          const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
          child.once('exit', () => resolve({ readyMs, rssMiB: rssKiB / 1024 }));
          child.kill('SIGTERM');
        }, IDLE_MS);
      }
    });
    child.stdout.resume();
    child.once('exit', (code) => {
      if (readyMs === undefined) reject(new Error(`${command.join(' ')} exited ${code}:\n${out}`));
    });
  });
}

function timeCli(command, cwd) {
  const began = performance.now();
  const [file, ...args] = command;
  const result = spawnSync(file, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.status !== 0) throw new Error(`${command.join(' ')} exited ${result.status}: ${result.stderr}`);
  return performance.now() - began;
}

const dir = mkdtempSync(join(tmpdir(), 'jobcast-startup-'));
const redisPort = await freePort();
const redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--dir', dir], {
  stdio: 'ignore',
});
try {
  await new Promise((resolve) => setTimeout(resolve, 300));
  const env = {
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'info',
    NODE_ENV: 'production',
  };
  const api = new Map(apiWays.map(([name]) => [name, { readyMs: [], rssMiB: [] }]));
  const cli = new Map(cliWays.map(([name]) => [name, []]));
  for (let i = 0; i < runs; i++) {
    for (const [name, command, cwd] of apiWays) {
      const { readyMs, rssMiB } = await startApi(command, cwd, env);
      api.get(name).readyMs.push(readyMs);
      api.get(name).rssMiB.push(rssMiB);
    }
    for (const [name, command, cwd] of cliWays) cli.get(name).push(timeCli(command, cwd));
  }
  console.log(`API cold start (spawn → listening) and idle RSS after ${IDLE_MS / 1000} s, ${runs} runs each`);
  console.log('| way | cold start median (min) | idle RSS median |');
  console.log('|---|---|---|');
  for (const [name, { readyMs, rssMiB }] of api) {
    console.log(
      `| ${name} | ${median(readyMs).toFixed(0)} ms (${min(readyMs).toFixed(0)}) | ${median(rssMiB).toFixed(1)} MiB |`,
    );
  }
  console.log(`\nCLI \`jobcast --help\`, ${runs} runs each`);
  console.log('| way | median (min) |');
  console.log('|---|---|');
  for (const [name, ms] of cli) console.log(`| ${name} | ${median(ms).toFixed(0)} ms (${min(ms).toFixed(0)}) |`);
} finally {
  redis.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
