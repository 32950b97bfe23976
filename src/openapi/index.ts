/**
 * @module openapi
 * The OpenAPI 3.1 description of jobcast, generated from the zod schemas the routes validate
 * with (`jobs/schemas`), a job-type registry (`jobs/registry`) and the problem catalogue
 * (`problems`), so it cannot drift from the code. `npm run openapi` writes the document of the
 * built-in job types to `openapi.yaml`; `GET /openapi.yaml` and `GET /openapi.json` serve the
 * document of the job types the service loaded.
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
import { JobTypeRegistry } from '../jobs/registry.js';
import { buildDocument } from './document.js';
import type { Json } from './refs.js';

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

const documents = new WeakMap<JobTypeRegistry, Json>();
const yamls = new WeakMap<JobTypeRegistry, string>();

/**
 * The OpenAPI document of a service running `jobTypes` (the built-in ones by default: the
 * committed `openapi.yaml`), built on first use and frozen (clone it for code that mutates).
 */
export function openApiDocument(jobTypes = JobTypeRegistry.builtIn()): Record<string, unknown> {
  let document = documents.get(jobTypes);
  if (!document) {
    document = deepFreeze(buildDocument(jobTypes));
    documents.set(jobTypes, document);
  }
  return document;
}

/** The header line of `openapi.yaml`. */
const HEADER = '# Generated from src/openapi/ by `npm run openapi`: do not edit.\n';

/** The document as YAML; for the built-in job types, exactly the text of the committed `openapi.yaml`. */
export function openApiYaml(jobTypes = JobTypeRegistry.builtIn()): string {
  let yaml = yamls.get(jobTypes);
  if (yaml === undefined) {
    yaml = `${HEADER}${stringify(openApiDocument(jobTypes), { aliasDuplicateObjects: false, lineWidth: 0 })}`;
    yamls.set(jobTypes, yaml);
  }
  return yaml;
}
