#!/usr/bin/env node
// The `jobcast` command. Plain JavaScript so that Node can start it as is: it registers tsx's
// ESM loader (Node ≥ 20.6 `module.register`) and then runs the TypeScript entry, no build step.
// The import must be dynamic: a static one would be evaluated before the loader is registered.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
