/**
 * @module openapi/operations/docs
 * What jobcast serves to read rather than to call: the live page and its files, this description
 * (YAML and JSON), the interactive reference, and the pages of the problem types.
 */
import { problemTypes } from '../../problems.js';
import { DOCS_FILES } from '../../routes/docs-ui.js';
import type { Operation } from '../operation.js';
import { json } from '../refs.js';
import { assetVersion, webFile } from '../web.js';

/** The page, the reference and the problem pages. */
export const docsOperations: Operation[] = [
  webFile('/', 'getPage', 'The live page', 'text/html'),
  webFile('/app.js', 'getPageScript', "The page's script", 'text/javascript', [assetVersion]),
  webFile('/styles.css', 'getPageStyles', "The page's styles", 'text/css', [assetVersion]),
  {
    method: 'get',
    path: '/openapi.yaml',
    operationId: 'getOpenApiYaml',
    summary: 'This description, as YAML',
    tag: 'docs',
    responses: {
      200: { description: 'OpenAPI 3.1.', content: { 'application/yaml': { schema: { type: 'string' } } } },
    },
    problems: [503],
  },
  {
    method: 'get',
    path: '/openapi.json',
    operationId: 'getOpenApiJson',
    summary: 'This description, as JSON',
    tag: 'docs',
    responses: { 200: { description: 'OpenAPI 3.1.', content: json({ type: 'object' }) } },
    problems: [503],
  },
  {
    method: 'get',
    path: '/docs',
    operationId: 'getDocs',
    summary: 'Interactive API reference',
    description: 'Swagger UI over `/openapi.json`, with every asset served by jobcast itself (no CDN).',
    tag: 'docs',
    responses: {
      200: { description: 'The reference page.', content: { 'text/html': { schema: { type: 'string' } } } },
    },
  },
  {
    method: 'get',
    path: '/docs/{asset}',
    operationId: 'getDocsAsset',
    summary: "The reference page's files",
    tag: 'docs',
    parameters: [
      {
        name: 'asset',
        in: 'path',
        required: true,
        schema: { type: 'string', enum: [...DOCS_FILES] },
      },
    ],
    responses: {
      200: {
        description: 'A stylesheet or script.',
        content: { 'text/css': { schema: { type: 'string' } }, 'text/javascript': { schema: { type: 'string' } } },
      },
    },
    problems: [404, 503],
  },
  {
    method: 'get',
    path: '/problems',
    operationId: 'getProblemTypes',
    summary: 'The problem types',
    description: 'A page listing every problem type an error response may have, each linked to its own page.',
    tag: 'docs',
    responses: {
      200: { description: 'The list, as HTML.', content: { 'text/html': { schema: { type: 'string' } } } },
    },
  },
  {
    method: 'get',
    path: '/problems/{type}',
    operationId: 'getProblemType',
    summary: 'What a problem type means',
    description:
      "The page a problem's `type` URI leads to: the type's title and status, when it happens, what to do, and an example.",
    tag: 'docs',
    parameters: [
      {
        name: 'type',
        in: 'path',
        required: true,
        description: 'The last segment of a problem `type`.',
        schema: { type: 'string', enum: Object.keys(problemTypes) },
      },
    ],
    responses: {
      200: { description: 'The page, as HTML.', content: { 'text/html': { schema: { type: 'string' } } } },
    },
    problems: [404],
  },
];
