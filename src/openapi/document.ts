/**
 * @module openapi/document
 * Assembles the OpenAPI 3.1 document: `info` from package.json, the paths from the
 * operations table (each operation's problem statuses turned into `$ref`s to the shared
 * responses, 401 added wherever credentials are taken), and the components.
 *
 * @example
 * (buildDocument(JobTypeRegistry.builtIn()).paths as any)['/jobs'].post.operationId // 'submitJob'
 */
import pkg from '../../package.json' with { type: 'json' };
import type { JobTypeRegistry } from '../jobs/registry.js';
import { MAX_LISTED_ERRORS } from '../problems.js';
import { componentSchemas } from './components.js';
import { tags } from './operation.js';
import { operations } from './operations.js';
import { sharedParameters } from './parameters.js';
import { type ProblemStatus, problemResponse, problemResponses } from './problems.js';
import { type Json, ref } from './refs.js';
import { securityRequirements, securitySchemes } from './security.js';
import { webhookItems } from './webhooks.js';

const DESCRIPTION = `jobcast tracks long-running jobs. Clients submit a job with \`POST /jobs\`; workers run it and report percentage progress; any number of clients watch it live on \`GET /jobs/{id}/events\` (or many jobs on one connection, \`GET /events?jobs=…\`).

**Streams** are Server-Sent Events: on connect the current state as a \`progress\` event, then \`progress\`, \`log\` and \`reset\` events as they happen, and a final \`done\`, after which the server closes the stream. Every event has an \`id:\`; a client that reconnects with \`Last-Event-ID\` (or \`?lastEventId=\`) gets nothing it already had and never misses \`done\`; after \`done\` it gets \`204\`. \`retry:\` is sent, and idle streams get \`: ping\` comments.

**Errors** are RFC 9457 problem details (\`application/problem+json\`) whose \`type\` is \`/problems/<kind>\`, a page that says when the problem happens and what to do: [every problem type](/problems). A validation failure lists its field errors in \`errors\` (the first ${MAX_LISTED_ERRORS}; \`totalErrors\` counts them all). A method a path does not answer is a 405 [\`method-not-allowed\`](/problems/method-not-allowed) whose \`Allow\` header lists those it does. A request HTTP cannot read is refused before any route, and its connection closed: a request line and headers past 16 KiB with a 431 [\`headers-too-large\`](/problems/headers-too-large), a malformed one with a 400 [\`bad-request\`](/problems/bad-request). An unexpected failure is a generic 500 problem.

**Access.** With API keys configured (\`API_KEYS\`), every job and event endpoint needs \`Authorization: Bearer <key>\`, and a key sees only its own jobs; event streams also take a short-lived \`?token=\` (EventSource cannot send headers). Without keys the service is open, and ids are capabilities: job ids are random UUIDs, knowing one is what lets one read or cancel a job, and nothing lists them (\`GET /jobs\` needs a key). Every response carries an \`X-Request-Id\`.`;

/** The whole document for `jobTypes`, built afresh (`openApiDocument()` caches it). */
export function buildDocument(jobTypes: JobTypeRegistry): Json {
  const paths: Record<string, Record<string, Json>> = {};
  const usedProblems = new Set<ProblemStatus>();
  for (const op of operations(jobTypes)) {
    const responses: Json = { ...op.responses };
    const problems = new Set(op.problems);
    if (op.security?.some((s) => s !== 'open')) problems.add(401);
    // Any request may be refused before it reaches a route: headers past the parser's limit.
    problems.add(431);
    for (const status of [...problems].sort((a, b) => a - b)) {
      usedProblems.add(status);
      responses[status] = ref('responses', problemResponses[status].name);
    }
    paths[op.path] ??= {};
    const pathItem = paths[op.path] as Record<string, Json>;
    if (pathItem[op.method]) throw new Error(`openapi: ${op.method.toUpperCase()} ${op.path} is listed twice`);
    pathItem[op.method] = {
      operationId: op.operationId,
      summary: op.summary,
      ...(op.description ? { description: op.description } : {}),
      tags: [op.tag],
      ...(op.parameters
        ? { parameters: op.parameters.map((p) => (typeof p === 'string' ? ref('parameters', p) : p)) }
        : {}),
      ...(op.requestBody ? { requestBody: op.requestBody } : {}),
      security: securityRequirements(op.security ?? []),
      responses,
    };
  }
  const responses = Object.fromEntries(
    [...usedProblems].sort((a, b) => a - b).map((status) => [problemResponses[status].name, problemResponse(status)]),
  );
  return {
    openapi: '3.1.0',
    info: {
      title: 'jobcast',
      version: pkg.version,
      description: DESCRIPTION,
      // An SPDX id from package.json, once it names one.
      ...('license' in pkg && typeof pkg.license === 'string'
        ? { license: { name: pkg.license, identifier: pkg.license } }
        : {}),
    },
    servers: [{ url: '/' }],
    tags,
    paths,
    webhooks: webhookItems(),
    components: {
      schemas: componentSchemas(jobTypes),
      responses,
      parameters: sharedParameters(),
      securitySchemes,
    },
  };
}
