/**
 * @module openapi/components
 * `components.schemas`: the zod schemas of `jobs/schemas`, and one `POST /jobs` body per job
 * type of a `jobs/registry`, converted to JSON Schema 2020-12. A schema used inside another
 * becomes a `$ref` to its component, so each shape is described once.
 *
 * @example
 * componentSchemas(JobTypeRegistry.builtIn()).JobResource.properties // { id: { $ref: '#/components/schemas/JobId' }, … }
 */
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import type { JobTypeRegistry } from '../jobs/registry.js';
import * as S from '../jobs/schemas.js';
import * as W from '../webhooks/schemas.js';
import { type Json, ref } from './refs.js';

/** Component name of the `POST /jobs` body of one job type: `simulate` → `SubmitSimulateJob`. */
const submitSchemaName = (type: string) =>
  `Submit${type
    .split(/[^A-Za-z0-9]+/)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('')}Job`;

/**
 * One `POST /jobs` body per registered job type: the envelope the route checks first, with
 * `type` fixed and `data` replaced by that type's input schema. The route reads a missing
 * `data` as `{}`, so `data` is required only where `{}` is not valid input.
 */
function submitSchemas(jobTypes: JobTypeRegistry): Record<string, z.ZodType> {
  return Object.fromEntries(
    jobTypes.names.map((type) => {
      const { input, description } = jobTypes.get(type) as NonNullable<ReturnType<JobTypeRegistry['get']>>;
      const data = input.safeParse({}).success ? input.optional() : input;
      const envelope = S.SubmitJobEnvelope.extend({ type: z.literal(type).describe('The job type.'), data });
      return [submitSchemaName(type), description ? envelope.describe(description) : envelope];
    }),
  );
}

/** Schemas that read the same as input and as output; others refer to them by name. */
export const sharedSchemas = {
  JobId: S.JobId,
  JobState: S.JobState,
  TerminalStatus: S.TerminalStatus,
  WebhookEventName: W.WebhookEventName,
};

/** Converted as what the server sends (`io: 'output'`: defaults are always present). */
export const responseSchemas = {
  ...sharedSchemas,
  JobLinks: S.JobLinks,
  JobResource: S.JobResource,
  JobList: S.JobList,
  JobBatch: S.JobBatch,
  JobLogLine: S.JobLogLine,
  JobLogs: S.JobLogs,
  ProgressEvent: S.ProgressEvent,
  LogEvent: S.LogEvent,
  DoneEvent: S.DoneEvent,
  ResetEvent: S.ResetEvent,
  GoneEvent: S.GoneEvent,
  SummaryEvent: S.SummaryEvent,
  Problem: S.Problem,
  StreamToken: S.StreamToken,
  HealthStatus: S.HealthStatus,
  ReadyStatus: S.ReadyStatus,
  Webhook: W.Webhook,
  WebhookDelivery: W.WebhookDelivery,
  WebhookDeliveries: W.WebhookDeliveries,
  WebhookPayload: W.WebhookPayload,
} satisfies Record<string, z.ZodType>;

/**
 * zod → JSON Schema 2020-12 for a set of named schemas; a schema of the set used inside
 * another becomes a `$ref` to its component.
 */
export function toComponents(schemas: Record<string, z.ZodType>, io: 'input' | 'output'): Record<string, Json> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(schemas)) registry.add(schema, { id });
  const converted = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
  }).schemas;
  return Object.fromEntries(
    Object.entries(converted).map(([id, { $schema: _, $id: __, ...schema }]) => {
      // Local `$defs` (cycles, shared sub-schemas) would dangle once moved under components.
      if ('$defs' in schema) throw new Error(`openapi: schema ${id} has $defs; name its shared parts as components`);
      return [id, schema as Json];
    }),
  );
}

/**
 * Every component schema, sorted by name: the responses as output, the requests as input
 * with their defaults in prose (a name in both must convert the same both ways), `SubmitJob`, the `oneOf` of the job
 * types' bodies, discriminated by `type`, and `SubmitJobBatch`, a list of those.
 */
export function componentSchemas(jobTypes: JobTypeRegistry): Record<string, Json> {
  const schemas = toComponents(responseSchemas, 'output');
  const requests = mapValues(
    toComponents(
      {
        ...sharedSchemas,
        JobOptions: S.JobOptions,
        WebhookRequest: W.WebhookRequest,
        StreamTokenRequest: S.StreamTokenRequest,
        ...submitSchemas(jobTypes),
      },
      'input',
    ),
    defaultsInProse,
  );
  for (const [id, schema] of Object.entries(requests)) {
    if (id in schemas && !isDeepStrictEqual(schemas[id], schema)) {
      throw new Error(`openapi: ${id} differs as input and as output; give the two different component names`);
    }
    schemas[id] = schema;
  }
  const types = jobTypes.names;
  schemas.SubmitJob = {
    description: `A job to run: its \`type\` (${types.map((t) => `\`${t}\``).join(', ')}), the input \`data\` that type takes, and queue \`options\`.`,
    oneOf: types.map((type) => ref('schemas', submitSchemaName(type))),
    discriminator: {
      propertyName: 'type',
      mapping: Object.fromEntries(types.map((type) => [type, ref('schemas', submitSchemaName(type)).$ref])),
    },
  };
  schemas.SubmitJobBatch = {
    description: 'Jobs to run, each a `SubmitJob`.',
    type: 'object',
    properties: {
      jobs: { type: 'array', minItems: 1, maxItems: S.MAX_JOBS_PER_BATCH, items: ref('schemas', 'SubmitJob') },
    },
    required: ['jobs'],
    additionalProperties: false,
  };
  return sortKeys(schemas);
}

/**
 * A request schema with each `default` moved into its field's description. Generators read
 * `default` as "always present": openapi-typescript (7, default flags) makes such a field of
 * a component schema required, so `{type: 'simulate', data: {steps: 3}}` would not typecheck
 * for want of `stepMs`. In a request a defaulted field is optional, and the schema says so.
 */
export function defaultsInProse(schema: Json): Json {
  const { default: fallback, ...rest } = schema;
  const converted: Json = {};
  for (const [keyword, value] of Object.entries(rest)) {
    if (SCHEMA_MAPS.has(keyword)) converted[keyword] = mapValues(value as Record<string, Json>, defaultsInProse);
    else if (SCHEMA_LISTS.has(keyword)) converted[keyword] = (value as Json[]).map(defaultsInProse);
    else if (SUBSCHEMAS.has(keyword) && value && typeof value === 'object')
      converted[keyword] = defaultsInProse(value as Json);
    else converted[keyword] = value;
  }
  if (fallback === undefined) return converted;
  const said = typeof converted.description === 'string' ? `${converted.description} ` : '';
  return { ...converted, description: `${said}Default: \`${JSON.stringify(fallback)}\`.` };
}

/** The JSON Schema keywords whose values are schemas: by name, in a list, or one. */
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'dependentSchemas']);
const SCHEMA_LISTS = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems']);
const SUBSCHEMAS = new Set([
  'items',
  'additionalProperties',
  'unevaluatedProperties',
  'unevaluatedItems',
  'not',
  'contains',
  'propertyNames',
  'if',
  'then',
  'else',
]);

const mapValues = <T, U>(record: Record<string, T>, map: (value: T) => U): Record<string, U> =>
  Object.fromEntries(Object.entries(record).map(([key, value]) => [key, map(value)]));

function sortKeys<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
