/**
 * @module openapi
 * The OpenAPI 3.1 description of jobcast, generated from the zod schemas the routes validate
 * with (`jobs/schemas`), the job-type registry (`jobs/registry`) and the problem catalogue
 * (`problems`), so it cannot drift from the code. `npm run openapi` writes it to
 * `openapi.yaml`; `GET /openapi.yaml` and `GET /openapi.json` serve it.
 *
 * The parts: `components` (schemas), `problems` (shared problem responses), `parameters`,
 * `security`, `streams` (SSE), `examples` (an example of every request and response),
 * `operations` (the table of routes: adding a route = one entry there), `document`
 * (assembles them).
 *
 * @example
 * (openApiDocument().paths as any)['/jobs'].post.operationId // 'submitJob'
 */
import { stringify } from 'yaml';
import { buildDocument } from './document.js';
import type { Json } from './refs.js';

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

let cachedDocument: Json | undefined;
let cachedYaml: string | undefined;

/** The OpenAPI document, built on first use and frozen (clone it for code that mutates). */
export function openApiDocument(): Record<string, unknown> {
  cachedDocument ??= deepFreeze(buildDocument());
  return cachedDocument;
}

/** The header line of `openapi.yaml`. */
const HEADER = '# Generated from src/openapi/ by `npm run openapi`: do not edit.\n';

/** The document as YAML: exactly the text of the committed `openapi.yaml`. */
export function openApiYaml(): string {
  cachedYaml ??= `${HEADER}${stringify(openApiDocument(), {
    aliasDuplicateObjects: false,
    lineWidth: 0,
  })}`;
  return cachedYaml;
}
