/**
 * Contract checks: does a live response keep the promises of the OpenAPI description
 * (`src/openapi/`, committed as `openapi.yaml`)? Status documented for the operation,
 * required headers present and valid, content type documented, body valid against the
 * documented schema (JSON Schema 2020-12, with formats) — and for `text/event-stream`, every
 * event's `id:` against `x-sse-id`, its name and its `data` against `x-sse-events`.
 *
 * @example
 * const res = await fetch(`${h.url}/jobs/${id}`);
 * const job = await expectMatchesSpec('get', '/jobs/{id}', res);
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import formats from 'ajv-formats';
import { createParser } from 'eventsource-parser';
import { expect } from 'vitest';
import { openApiDocument } from '../../../src/openapi/index.js';

type Json = Record<string, unknown>;

/** The document's id inside ajv: schemas are compiled by JSON pointer into it. */
const DOC = 'urn:jobcast:openapi';

let ajv: Ajv2020 | undefined;
const validators = new Map<string, ValidateFunction>();

function getAjv(): Ajv2020 {
  if (!ajv) {
    // strict: any keyword ajv does not know in a schema we compile is an error, except
    // OpenAPI's `discriminator` (an annotation: `oneOf` does the validating) and the
    // document's top-level fields (ajv compiles the root to resolve pointers into it).
    ajv = new Ajv2020({ strict: true, allErrors: true });
    formats.default(ajv);
    ajv.addVocabulary([
      'discriminator',
      ...[
        'openapi',
        'info',
        'jsonSchemaDialect',
        'servers',
        'security',
        'tags',
        'paths',
        'webhooks',
        'components',
        'externalDocs',
      ],
    ]);
    ajv.addSchema(openApiDocument(), DOC);
  }
  return ajv;
}

/** A validator for the schema at a JSON pointer (`#/components/schemas/JobResource`) of the document. */
export function specValidator(pointer: string): ValidateFunction {
  let validate = validators.get(pointer);
  if (!validate) {
    validate = getAjv().compile({ $ref: `${DOC}${pointer}` });
    validators.set(pointer, validate);
  }
  return validate;
}

/** The errors of `value` against the schema at `pointer`, as readable lines (empty when valid). */
export function schemaErrors(pointer: string, value: unknown): string[] {
  const validate = specValidator(pointer);
  if (validate(value)) return [];
  return (validate.errors ?? []).map(
    (e: ErrorObject) => `${e.instancePath || '(root)'} ${e.message} ${JSON.stringify(e.params)}`,
  );
}

/** Fails with the schema errors in the message (a diff of arrays would hide them). */
function expectValid(errors: string[], context: string): void {
  if (errors.length > 0) expect.fail(`${context}\n  ${errors.join('\n  ')}`);
}

const escapePointer = (segment: string) => segment.replaceAll('~', '~0').replaceAll('/', '~1');

/** Follows a local `$ref` (and says where it ended up). */
function deref(node: Json, pointer: string): { node: Json; pointer: string } {
  let current = node;
  let at = pointer;
  while (typeof current.$ref === 'string') {
    at = current.$ref;
    current = at
      .slice(2)
      .split('/')
      .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
      .reduce<Json>((obj, key) => obj[key] as Json, openApiDocument());
    if (!current) throw new Error(`openapi: unresolved $ref ${at}`);
  }
  return { node: current, pointer: at };
}

/** Every `METHOD path status` the contract checks saw; lets a test assert every operation was exercised. */
export const exercised = new Set<string>();

/** The documented operations, as `METHOD /path/{template}`. */
export function documentedOperations(): string[] {
  const paths = openApiDocument().paths as Record<string, Record<string, unknown>>;
  return Object.entries(paths).flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`));
}

const essence = (contentType: string | null) => (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
const isJson = (mediaType: string) => /^application\/(?:[\w.+-]+\+)?json$/.test(mediaType);

/**
 * Asserts that `response` is what the description promises for `method pathTemplate`, and
 * returns its body (parsed JSON, or text). Pass `body` when the response was already read
 * (parsed JSON or the raw text); otherwise the response is read from a clone, so the caller
 * can still read it.
 */
export async function expectMatchesSpec(
  method: string,
  pathTemplate: string,
  response: Response,
  body?: unknown,
): Promise<unknown> {
  const where = `${method.toUpperCase()} ${pathTemplate} → ${response.status}`;
  const paths = openApiDocument().paths as Record<string, Record<string, Json>>;
  const operation = paths[pathTemplate]?.[method.toLowerCase()];
  expect(operation, `${method.toUpperCase()} ${pathTemplate} is not documented`).toBeDefined();
  const responses = (operation as Json).responses as Record<string, Json>;
  const status = String(response.status);
  const key = [status, `${status[0]}XX`, 'default'].find((k) => k in responses);
  expect(key, `${where}: status not documented (documented: ${Object.keys(responses).join(', ')})`).toBeDefined();
  exercised.add(`${method.toUpperCase()} ${pathTemplate} ${status}`);
  const basePointer = `#/paths/${escapePointer(pathTemplate)}/${method.toLowerCase()}/responses/${key}`;
  const { node: documented, pointer } = deref(responses[key as string] as Json, basePointer);

  for (const [name, header] of Object.entries((documented.headers ?? {}) as Record<string, Json>)) {
    const value = response.headers.get(name);
    if (header.required) expect(value, `${where}: header ${name} is required`).not.toBeNull();
    if (value === null) continue;
    const schema = (header.schema ?? {}) as Json;
    const typed = schema.type === 'integer' || schema.type === 'number' ? Number(value) : value;
    const errors = schemaErrors(`${pointer}/headers/${escapePointer(name)}/schema`, typed);
    expectValid(errors, `${where}: header ${name}: ${JSON.stringify(value)}`);
  }

  const text = body === undefined ? await response.clone().text() : typeof body === 'string' ? body : undefined;
  const content = documented.content as Record<string, Json> | undefined;
  if (!content) {
    expect(text ?? JSON.stringify(body), `${where}: documented without content`).toBe('');
    return undefined;
  }
  const mediaType = essence(response.headers.get('content-type'));
  expect(Object.keys(content), `${where}: content type ${JSON.stringify(mediaType)}`).toContain(mediaType);
  const schemaPointer = `${pointer}/content/${escapePointer(mediaType)}/schema`;

  if (mediaType === 'text/event-stream') {
    expectValid(schemaErrors(schemaPointer, text), `${where}: body`);
    const mediaPointer = `${pointer}/content/${escapePointer(mediaType)}`;
    const items = parseEventStream(text ?? '');
    for (const item of items) expectStreamItem(mediaPointer, item, where);
    return items;
  }

  const value = isJson(mediaType) ? (text === undefined ? body : JSON.parse(text)) : text;
  expectValid(schemaErrors(schemaPointer, value), `${where}: body ${JSON.stringify(value)?.slice(0, 500)}`);
  return value;
}

/**
 * Checks one item of a stream against its media type's extensions: an event has an `id:`
 * matching `x-sse-id`, a name in `x-sse-events` and `data` valid against that name's schema;
 * `retry:` is a whole number of milliseconds.
 */
export function expectStreamItem(mediaPointer: string, item: Json, where: string): void {
  if ('retry' in item) {
    expect(Number.isInteger(item.retry) && (item.retry as number) >= 0, `${where}: retry ${item.retry}`).toBe(true);
    return;
  }
  const media = deref({ $ref: mediaPointer }, mediaPointer).node;
  const events = media['x-sse-events'] as Record<string, { $ref: string }>;
  expect(Object.keys(events), `${where}: stream item ${JSON.stringify(item)}: event name`).toContain(item.event);
  expect(typeof item.id, `${where}: stream item ${JSON.stringify(item)} has no id`).toBe('string');
  expectValid(schemaErrors(`${mediaPointer}/x-sse-id`, item.id), `${where}: stream item ${JSON.stringify(item)}: id`);
  const dataRef = (events[item.event as string] as { $ref: string }).$ref;
  expectValid(schemaErrors(dataRef, JSON.parse(item.data as string)), `${where}: ${item.event} data ${item.data}`);
}

/** A stream's text as a list of items: `{id?, event, data}` for an event, `{retry}` for a `retry:`. */
export function parseEventStream(text: string): Json[] {
  const items: Json[] = [];
  const parser = createParser({
    onEvent: (e) =>
      items.push({ ...(e.id === undefined ? {} : { id: e.id }), event: e.event ?? 'message', data: e.data }),
    onRetry: (retry) => items.push({ retry }),
  });
  parser.feed(text);
  return items;
}
