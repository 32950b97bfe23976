/**
 * Whether `dist/` is missing or older than the code it is built from — asked by `npm start`
 * and the tests before they run compiled JavaScript, so a fresh clone or an edit rebuilds by
 * itself and an unchanged tree costs only a walk over file times (a few ms). Plain JavaScript:
 * `scripts/bootstrap.mjs` runs before anything is installed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** What the build reads: a newer file here makes `dist/` stale. */
const INPUTS = ['src', 'workers', 'packages/client/src', 'scripts/start-all.ts', 'scripts/build.ts', 'package.json'];
const STAMP = 'dist/.built';

/** The newest modification time under `path` (a file or a directory), in ms. */
function newest(path) {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs;
  for (const entry of readdirSync(path)) latest = Math.max(latest, newest(join(path, entry)));
  return latest;
}

/** True when `dist/` is missing, or older than any of its inputs. */
export function buildIsStale(root) {
  const stamp = statSync(join(root, STAMP), { throwIfNoEntry: false });
  if (!stamp || !existsSync(join(root, 'dist/main.js'))) return true;
  return INPUTS.some((input) => newest(join(root, input)) > stamp.mtimeMs);
}

/** Marks `dist/` as built from the inputs as they are now. */
export function recordBuild(root, what) {
  writeFileSync(join(root, STAMP), `${what} ${new Date().toISOString()}\n`);
}

/**
 * Builds the service (`npm run build -- --service`) when `dist/` is stale; returns the build's
 * exit status (0 when nothing was needed). Needs the development dependencies (tsx, esbuild).
 */
export function ensureBuilt(root) {
  if (!buildIsStale(root)) return 0;
  process.stderr.write('jobcast: building the service (dist/ is missing or older than the code)…\n');
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'scripts/build.ts'), '--service'], {
    cwd: root,
    stdio: 'inherit',
  });
  return result.status ?? 1;
}

// `node scripts/build-state.mjs --ensure` (before `npm run start:api` / `start:worker`).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href && process.argv[2] === '--ensure') {
  process.exitCode = ensureBuilt(join(dirname(fileURLToPath(import.meta.url)), '..'));
}
