/**
 * `@jobcast/cli`'s one file, `packages/cli/dist/jobcast.js`: the CLI bundled with nothing
 * external, behind its shebang, so that installing the package installs nothing else (the root
 * package is the whole service, and brings its dependencies). `npm pack -w packages/cli` runs
 * this first (the package's `prepack`).
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));

await build({
  absWorkingDir: root,
  entryPoints: ['src/cli/main.ts'],
  outfile: 'packages/cli/dist/jobcast.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  banner: { js: '#!/usr/bin/env node' },
  logLevel: 'warning',
});
