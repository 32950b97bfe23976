/**
 * @module openapi/web
 * The operations of the live page's files: each answers 200 with an `ETag`, or 304 when the
 * client's copy is current (a 503 problem when the files cannot be read, a broken install); the
 * page's script and styles also take a `?v=<hash>`.
 *
 * @example
 * webFile('/app.js', 'getPageScript', "The page's script", 'text/javascript', [assetVersion])
 */
import type { Operation } from './operation.js';
import type { Json } from './refs.js';

/** A file of the web page: 200 with an ETag, or 304 when the client's copy is current. */
export function webFile(
  path: string,
  operationId: string,
  summary: string,
  mediaType: string,
  parameters: Json[] = [],
) {
  return {
    method: 'get',
    path,
    operationId,
    summary,
    tag: 'web',
    parameters: [...parameters, 'IfNoneMatch'],
    responses: {
      200: {
        description: summary,
        headers: {
          ETag: { required: true, description: 'A hash of the content.', schema: { type: 'string' } },
          'Cache-Control': { required: true, description: 'How long it may be cached.', schema: { type: 'string' } },
        },
        content: { [mediaType]: { schema: { type: 'string' } } },
      },
      304: { description: 'Not modified: the copy the client has (`If-None-Match`) is current.' },
    },
    // The page's files are read on the first request for one (`routes/lazy`).
    problems: [503],
  } satisfies Operation;
}

/** `?v=<hash>`: the page links its files by content hash; such a URL is cached for good. */
export const assetVersion = {
  name: 'v',
  in: 'query',
  required: false,
  description:
    "The file's content hash, as the page links it: with the current hash the response is cacheable for a year.",
  schema: { type: 'string' },
};
