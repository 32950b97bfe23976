/**
 * @module routes/docs
 * The API description, generated from the same zod schemas the routes validate with.
 */
import { Hono } from 'hono';
import { openApiDocument, openApiYaml } from '../openapi/index.js';

export function docsRoutes(): Hono {
  const app = new Hono();
  app.get('/openapi.yaml', (c) => c.body(openApiYaml(), 200, { 'content-type': 'application/yaml; charset=utf-8' }));
  app.get('/openapi.json', (c) => c.json(openApiDocument()));
  return app;
}
