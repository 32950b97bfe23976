/**
 * @module routes/docs
 * The API description, generated from the same zod schemas the routes validate with. Its
 * modules (the document's parts, the YAML writer) are loaded on the first request for it.
 */
import { Hono } from 'hono';
import type { JobTypeRegistry } from '../jobs/registry.js';
import { lazily } from './lazy.js';

const openApi = lazily('the API description', () => import('../openapi/index.js'));

/** The description of this service: with the job types it loaded (JOB_TYPES), not only the built-in ones. */
export function docsRoutes(jobTypes?: JobTypeRegistry): Hono {
  const app = new Hono();
  app.get('/openapi.yaml', async (c) =>
    c.body((await openApi()).openApiYaml(jobTypes), 200, { 'content-type': 'application/yaml; charset=utf-8' }),
  );
  app.get('/openapi.json', async (c) => c.json((await openApi()).openApiDocument(jobTypes)));
  return app;
}
