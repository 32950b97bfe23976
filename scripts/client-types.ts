/**
 * The wire types of `@jobcast/client` (`packages/client/src/types.ts`), generated from the zod
 * schemas the service validates and answers with — through the same JSON Schema conversion as
 * `openapi.yaml` — so the client's types cannot drift from the service. `npm run openapi`
 * writes the file; a test fails while the committed one differs from what this generates.
 */

import * as S from '../src/jobs/schemas.js';
import { responseSchemas, toComponents } from '../src/openapi/components.js';
import type { Json } from '../src/openapi/refs.js';

/** Types for what the service answers (output side: defaults present). */
const RESPONSES = [
  'JobId',
  'JobState',
  'TerminalStatus',
  'JobLinks',
  'JobResource',
  'JobList',
  'JobBatch',
  'JobLogLine',
  'JobLogs',
  'ProgressEvent',
  'LogEvent',
  'DoneEvent',
  'ResetEvent',
  'GoneEvent',
  'SummaryEvent',
  'Problem',
  'StreamToken',
  'WebhookEventName',
  'Webhook',
  'WebhookDelivery',
  'WebhookDeliveries',
] as const satisfies readonly (keyof typeof responseSchemas)[];

const HEADER = `/**
 * @module types
 * The shapes jobcast sends and takes, generated from the service's zod schemas by
 * \`npm run openapi\` (scripts/client-types.ts): do not edit.
 */
`;

/** The text of `packages/client/src/types.ts`. */
export function clientTypesSource(): string {
  const responses = toComponents(Object.fromEntries(RESPONSES.map((name) => [name, responseSchemas[name]])), 'output');
  // Requests as the client writes them (input side: fields with defaults are optional).
  const requests = toComponents({ JobOptionsInput: S.JobOptions }, 'input');
  const blocks = Object.entries({ ...responses, ...requests }).map(([name, schema]) =>
    declaration(name, schema as Json),
  );
  return `${HEADER}\n${blocks.join('\n\n')}\n`;
}

function declaration(name: string, schema: Json): string {
  const doc = typeof schema.description === 'string' ? comment(schema.description, '') : '';
  const type = typeOf(schema, '');
  return type.startsWith('{') ? `${doc}export interface ${name} ${type}` : `${doc}export type ${name} = ${type};`;
}

function typeOf(schema: Json, indent: string): string {
  if (typeof schema.$ref === 'string') return schema.$ref.split('/').pop() as string;
  if ('const' in schema) return literal(schema.const);
  if (Array.isArray(schema.enum)) return schema.enum.map(literal).join(' | ');
  const union = (schema.anyOf ?? schema.oneOf) as Json[] | undefined;
  if (union) return union.map((s) => typeOf(s, indent)).join(' | ');
  if (Array.isArray(schema.type)) return schema.type.map((t) => typeOf({ ...schema, type: t }, indent)).join(' | ');
  switch (schema.type) {
    case 'string':
      return 'string';
    case 'number':
    case 'integer':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'null':
      return 'null';
    case 'array': {
      const item = typeOf((schema.items ?? {}) as Json, indent);
      return /^[\w"]+$/.test(item) ? `${item}[]` : `Array<${item}>`;
    }
    case 'object':
      return objectType(schema, indent);
    default:
      return 'unknown';
  }
}

function objectType(schema: Json, indent: string): string {
  const inner = `${indent}  `;
  const required = new Set((schema.required ?? []) as string[]);
  const lines = Object.entries((schema.properties ?? {}) as Record<string, Json>).map(([key, property]) => {
    const doc = typeof property.description === 'string' ? comment(property.description, inner) : '';
    const name = /^[A-Za-z_$][\w$]*$/.test(key) ? key : literal(key);
    return `${doc}${inner}${name}${required.has(key) ? '' : '?'}: ${typeOf(property, inner)};`;
  });
  // `.loose()` objects (problems) may carry more members.
  const extra = schema.additionalProperties;
  if (extra !== undefined && extra !== false) lines.push(`${inner}[key: string]: unknown;`);
  return lines.length === 0 ? 'Record<string, unknown>' : `{\n${lines.join('\n')}\n${indent}}`;
}

/** A literal type in the repository's style (single quotes). */
function literal(value: unknown): string {
  return typeof value === 'string' && !/['\\\n]/.test(value) ? `'${value}'` : JSON.stringify(value);
}

function comment(text: string, indent: string): string {
  const lines = text.replaceAll('*/', '*\\/').split('\n');
  return lines.length === 1
    ? `${indent}/** ${lines[0]} */\n`
    : `${indent}/**\n${lines.map((l) => `${indent} * ${l}`.trimEnd()).join('\n')}\n${indent} */\n`;
}
