#!/usr/bin/env node
// The `jobcast` command: the CLI bundled into one file with no dependencies (`npm run build`
// writes dist/cli.js; the published package ships it). In a checkout that was never built, it
// runs from source through tsx instead, as in development.
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/cli.js', import.meta.url);
if (existsSync(bundle)) {
  await import(bundle.href);
} else {
  // The import must be dynamic: a static one would be evaluated before the loader is registered.
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
