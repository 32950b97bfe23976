/**
 * @module routes/docs
 * The API description, generated from the same zod schemas the routes validate with.
 */
import { Hono } from 'hono';
import type { JobTypeRegistry } from '../jobs/registry.js';
import { openApiDocument, openApiYaml } from '../openapi/index.js';

/** The description of this service: with the job types it loaded (JOB_TYPES), not only the built-in ones. */
export function docsRoutes(jobTypes?: JobTypeRegistry): Hono {
  const app = new Hono();
  app.get('/openapi.yaml', (c) =>
    c.body(openApiYaml(jobTypes), 200, { 'content-type': 'application/yaml; charset=utf-8' }),
  );
  app.get('/openapi.json', (c) => c.json(openApiDocument(jobTypes)));
  return app;
}
