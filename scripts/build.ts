/**
 * `npm run build`: the compiled jobcast in `dist/` — the service's entry points bundled with
 * esbuild (with their dependencies, but for a few), the page's files, the CLI as one file with no
 * dependencies, and `defineJobType` with its types for `import { defineJobType } from 'jobcast'`
 * — then the packages in `packages/` (`tsc -b`: ESM and .d.ts in each one's `dist/`).
 *
 *   npm run build                  → everything
 *   npm run build -- --service     → only what `npm start` and the tests run (no packages)
 *
 * `scripts/build-state.mjs` decides when a build is stale; this script records what it built.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build } from 'esbuild';
import { buildAssets } from '../src/web/assets.js';
import { recordBuild } from './build-state.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
const serviceOnly = process.argv.includes('--service');
const started = performance.now();

const node: BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  // The maps point at src/ and node_modules/, which sit beside dist/; carrying the bundled
  // dependencies' sources inside them made dist/ 11 MB instead of about 6.
  sourcesContent: false,
  logLevel: 'warning',
  absWorkingDir: root,
};

/**
 * What the service still loads from node_modules: packages that serve files of their own
 * (bull-board's page, Swagger UI's), a native addon (msgpackr's, found beside its package), the
 * optional peers bullmq names but we do not install, and development-only tools.
 */
const SERVICE_EXTERNAL = [
  '@bull-board/*',
  'swagger-ui-dist',
  'msgpackr-extract',
  'pg',
  '@valkey/valkey-glide',
  'pino-pretty',
  'esbuild',
  'tsx',
];

rmSync(dist, { recursive: true, force: true });
await Promise.all([
  // The service, its dependencies bundled: loading them from node_modules file by file (bullmq
  // and ioredis as CommonJS; ~650 files for the API, ~460 for a worker) was half the CPU of every
  // start (docs/decisions/006).
  build({
    ...node,
    entryPoints: { main: 'src/main.ts', worker: 'workers/main.ts', 'start-all': 'scripts/start-all.ts' },
    outdir: dist,
    splitting: true,
    // Chunks beside the entries: `web/assets` finds the page's files from its own location.
    chunkNames: '[name]-[hash]',
    // ES modules where a package ships both (bullmq): they are smaller once bundled.
    mainFields: ['module', 'main'],
    external: SERVICE_EXTERNAL,
    // The CommonJS inside the bundle calls require() for Node's own modules.
    banner: {
      js: "import { createRequire as __jobcastRequire } from 'node:module';\nconst require = __jobcastRequire(import.meta.url);",
    },
  }),
  // The CLI: one file, nothing external, so `jobcast --help` loads one module.
  build({ ...node, entryPoints: { cli: 'src/cli/main.ts' }, outdir: dist, splitting: true, chunkNames: 'cli-[hash]' }),
  // `import { defineJobType } from 'jobcast'` (types below).
  build({ ...node, entryPoints: { 'job-type': 'src/jobs/job-type.ts' }, outdir: dist, packages: 'external' }),
  // The page, built once here instead of on the first request.
  buildAssets().then((assets) => {
    // `dist` itself may not exist yet: the esbuild runs beside this one create it.
    mkdirSync(join(dist, 'web'), { recursive: true });
    writeFileSync(join(dist, 'web', 'index.html'), assets.html.body);
    writeFileSync(join(dist, 'web', 'app.js'), assets.script.body);
    writeFileSync(join(dist, 'web', 'styles.css'), assets.styles.body);
  }),
]);

const tsc = (args: string[]) => {
  const result = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), ...args], {
    cwd: root,
    stdio: 'inherit',
  });
  if (result.status !== 0) process.exit(result.status ?? 1);
};
tsc([
  'src/jobs/job-type.ts',
  ...['--declaration', '--emitDeclarationOnly', '--skipLibCheck', '--strict'],
  ...['--module', 'nodenext', '--target', 'es2022', '--outDir', join(dist, 'types')],
]);
if (!serviceOnly) tsc(['-b', 'packages/client', 'packages/react']);

recordBuild(root, serviceOnly ? 'service' : 'all');
console.log(
  `jobcast: built ${serviceOnly ? 'the service' : 'everything'} in ${Math.round(performance.now() - started)} ms`,
);
