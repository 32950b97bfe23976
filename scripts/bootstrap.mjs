#!/usr/bin/env node
/**
 * Set-up that `npm start` and `npm test` do by themselves on a fresh machine, in plain Node
 * (nothing installed yet): install npm dependencies when missing or stale, build the service
 * (dist/) when missing or stale, and install redis-server when it is needed and missing
 * (apt-get, when root; otherwise say exactly how).
 *
 *   node scripts/bootstrap.mjs start   → the whole service, compiled (API + worker [+ local Redis])
 *   node scripts/bootstrap.mjs test    → lint, typecheck, the test suite
 *   node scripts/bootstrap.mjs bench   → the benchmarks (bench/run.ts; `-- --quick` for a short run)
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { setPriority } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBuilt } from './build-state.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const mode = process.argv[2];

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const say = (msg) => process.stderr.write(`jobcast: ${msg}\n`);

function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...options });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

function ensureDependencies() {
  const installed = join(root, 'node_modules', '.package-lock.json');
  const lock = join(root, 'package-lock.json');
  if (existsSync(installed) && statSync(installed).mtimeMs >= statSync(lock).mtimeMs) return;
  say('installing npm dependencies (npm ci)…');
  if (run('npm', ['ci', '--no-audit', '--no-fund']) !== 0) {
    say('npm ci failed; see above.');
    process.exit(1);
  }
}

/** Installs Debian packages when root and apt-get exist; otherwise explains and exits. */
function ensureDebianPackages(packages, why) {
  const missing = packages.filter(([cmd]) => !has(cmd)).map(([, pkg]) => pkg);
  if (missing.length === 0) return;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (root && has('apt-get')) {
    say(`installing ${missing.join(', ')} with apt-get (${why})…`);
    run('apt-get', ['update', '-q'], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (
      run('apt-get', ['install', '-y', '-q', ...missing], {
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      }) === 0
    )
      return;
  }
  say(`${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} needed (${why}) but not installed.`);
  say(`  Debian/Ubuntu: sudo apt-get install -y ${missing.join(' ')}`);
  if (missing.includes('redis-server'))
    say('  macOS: brew install redis — or set REDIS_URL to a Redis you already run.');
  process.exit(1);
}

const tsx = ['--import', 'tsx'];

/**
 * Copies of one Ctrl-C arrive within this long (src/lifecycle.ts SIGNAL_ECHO_MS): the terminal
 * signals the whole foreground group, npm forwards its own copy, and we forward ours.
 */
const SIGNAL_ECHO_MS = 1_000;

/**
 * Passes stop signals on to `child`, one per Ctrl-C (the child gets the terminal's copy
 * too, and counts copies this close together as one), and exits with the child.
 */
function forwardSignals(child) {
  let last = Number.NEGATIVE_INFINITY;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      if (Date.now() - last < SIGNAL_ECHO_MS) return;
      last = Date.now();
      child.kill(signal);
    });
  }
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

if (mode === 'start') {
  ensureDependencies();
  if (!process.env.REDIS_URL)
    ensureDebianPackages([['redis-server', 'redis-server']], 'REDIS_URL is unset, so jobcast runs a local Redis');
  if (ensureBuilt(root) !== 0) {
    say('the build failed; see above.');
    process.exit(1);
  }
  forwardSignals(spawn(process.execPath, [join(root, 'dist/start-all.js')], { cwd: root, stdio: 'inherit' }));
} else if (mode === 'test') {
  ensureDependencies();
  ensureDebianPackages([['redis-server', 'redis-server']], 'the tests run against a real Redis');
  if (!process.env.CHROMIUM_PATH) {
    ensureDebianPackages([['chromium', 'chromium']], 'the page tests drive a headless Chromium (or set CHROMIUM_PATH)');
  }
  const bin = (name) => join(root, 'node_modules', '.bin', name);
  for (const [label, cmd, args] of [
    ['lint + format (biome)', bin('biome'), ['check', '.']],
    [
      'typecheck and build the packages (tsc -b packages/client packages/react)',
      bin('tsc'),
      ['-b', 'packages/client', 'packages/react'],
    ],
  ]) {
    say(`${label}…`);
    const status = run(cmd, args);
    if (status !== 0) process.exit(status);
  }
  // The type check (after the packages' build: @jobcast/react's program reads @jobcast/client's
  // declarations) runs beside the tests, not before them: the tests spend much of their time
  // waiting on processes and timers, and the check's ~40 s of CPU fits in between. Its report
  // is held back so the tests' output stays readable, and shown if it finds anything.
  say('typecheck the service, the page and the tests, and lint promises (scripts/check-types.ts), beside the tests…');
  const typecheck = spawn(process.execPath, [...tsx, join(root, 'scripts/check-types.ts')], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // In between, not in the way: at a lower priority, it takes the CPU the tests leave idle, and
  // never slows a test that measures time (with it at the same priority, tests that start in its
  // first minute ran against half a core).
  try {
    setPriority(typecheck.pid, 10);
  } catch {
    // Not allowed here: it runs at the same priority, as before.
  }
  let typecheckOutput = '';
  typecheck.stdout.on('data', (chunk) => (typecheckOutput += chunk));
  typecheck.stderr.on('data', (chunk) => (typecheckOutput += chunk));
  let testsEnded = false;
  const typecheckStatus = new Promise((resolve) =>
    typecheck.on('exit', (code, signal) => {
      // Said while the tests run; after them, the tests' summary stays the last line on success.
      if (!testsEnded) say(code === 0 ? 'typecheck and promise lint: passed' : 'typecheck and promise lint: FAILED');
      resolve(code ?? (signal ? 1 : 0));
    }),
  );
  say('tests (vitest)…');
  const tests = spawn(bin('vitest'), ['run', ...process.argv.slice(3)], { cwd: root, stdio: 'inherit' });
  const testStatus = await new Promise((resolve) =>
    tests.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))),
  );
  testsEnded = true;
  // Nothing is in its way any more: on a machine busy with other work, at the lower priority it
  // could wait many minutes for the CPU (seen beside two busy processes: over 17 min).
  try {
    if (typecheck.exitCode === null) setPriority(typecheck.pid, 0);
  } catch {
    // Raising a priority again takes privileges this user may not have: it finishes as it is.
  }
  const checkStatus = await typecheckStatus;
  if (checkStatus !== 0) {
    process.stdout.write(typecheckOutput);
    say('the type check failed; see above.');
  }
  process.exit(testStatus || checkStatus);
} else if (mode === 'bench') {
  ensureDependencies();
  ensureDebianPackages([['redis-server', 'redis-server']], 'the bench runs a private Redis');
  // The bench measures the service as deployed: compiled.
  if (ensureBuilt(root) !== 0) {
    say('the build failed; see above.');
    process.exit(1);
  }
  // 10,000 streams need 10,000 file descriptors in the server process: raise the soft limit to
  // the hard one where the shell allows it (Node cannot change its own limits).
  const args = [...tsx, join(root, 'bench/run.ts'), ...process.argv.slice(3)].map(
    (a) => `'${a.replaceAll("'", "'\\''")}'`,
  );
  forwardSignals(
    spawn('sh', ['-c', `ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" ${args.join(' ')}`, process.execPath], {
      cwd: root,
      stdio: 'inherit',
    }),
  );
} else {
  say('usage: node scripts/bootstrap.mjs start|test|bench');
  process.exit(2);
}
