/**
 * Writes `packages/client/src/types.ts` from the service's zod schemas (see `client-types.ts`).
 *
 *   node --import tsx scripts/gen-client-types.ts   (part of `npm run openapi`)
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { clientTypesSource } from './client-types.js';

const target = fileURLToPath(new URL('../packages/client/src/types.ts', import.meta.url));
writeFileSync(target, clientTypesSource());
console.log(`wrote ${target}`);
