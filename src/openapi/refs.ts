/**
 * @module openapi/refs
 * The small vocabulary every part of the OpenAPI document is written in: a JSON object, a
 * `$ref` to a component, and a JSON request or response body.
 *
 * @example
 * json(ref('schemas', 'JobResource'))
 * // { 'application/json': { schema: { $ref: '#/components/schemas/JobResource' } } }
 */

/** A fragment of the document, as plain JSON. */
export type Json = Record<string, unknown>;

/** A `$ref` to a named entry of `components`. */
export const ref = (kind: 'schemas' | 'responses' | 'parameters', name: string) => ({
  $ref: `#/components/${kind}/${name}`,
});

/** The `content` of a JSON body with this schema (and these Example Objects, by name). */
export const json = (schema: Json, examples?: Record<string, unknown>) => ({
  'application/json': { schema, ...(examples ? { examples } : {}) },
});
