/**
 * Writes `openapi.yaml` at the repository root from the zod schemas (see `src/openapi/`).
 *
 *   npm run openapi              → (re)writes openapi.yaml
 *   npm run openapi -- --check   → exits 1 when the committed openapi.yaml is stale
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openApiYaml } from '../src/openapi/index.js';

const target = fileURLToPath(new URL('../openapi.yaml', import.meta.url));
const generated = openApiYaml();

if (process.argv.includes('--check')) {
  const committed = existsSync(target) ? readFileSync(target, 'utf8') : '';
  if (committed !== generated) {
    console.error('openapi.yaml is stale: it differs from what src/openapi/ generates. Run `npm run openapi`.');
    process.exit(1);
  }
  console.log('openapi.yaml is up to date');
} else {
  writeFileSync(target, generated);
  console.log(`wrote ${target}`);
}
