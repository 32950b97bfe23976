/**
 * @module api/client-errors
 * Requests Node's HTTP parser refuses before the app sees them — headers past its size limit, a
 * malformed request line, header or `Content-Length` — answered as problems like every other
 * refusal, instead of Node's bare status line (or, past the limit, an empty reset). No route
 * ran: the body has no `instance`, and the connection closes, as the parser cannot tell where
 * the next request would start. Like every answer it carries an `X-Request-Id` (a new one: the
 * request's own headers were not read) and `nosniff`.
 */
import { randomUUID } from 'node:crypto';

import { maxHeaderSize } from 'node:http';
import type { Socket } from 'node:net';
import { PROBLEM_CONTENT_TYPE, ProblemError } from '../problems.js';

interface ParserError extends Error {
  code?: string;
  /** The bytes the parser was reading (Node sets it on 'clientError'). */
  rawPacket?: Buffer;
}

/** The status line and problem of a parser error; undefined: no answer (the client is gone, or spoke no HTTP). */
function answerFor(error: ParserError): { statusLine: string; problem?: ProblemError } | undefined {
  switch (error.code) {
    case 'ECONNRESET':
      return undefined;
    // Headers that took longer than HTTP_HEADERS_TIMEOUT_MS: Node's own answer, nobody reads a body.
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { statusLine: '408 Request Timeout' };
    case 'HPE_HEADER_OVERFLOW':
      return {
        statusLine: '431 Request Header Fields Too Large',
        problem: new ProblemError(
          'headers-too-large',
          `the request line and headers are larger than ${maxHeaderSize} bytes`,
        ),
      };
    default:
      // The parser's own errors (HPE_…); anything else (a TLS handshake that failed or timed out)
      // has no HTTP to answer with.
      if (!error.code?.startsWith('HPE_')) return undefined;
      return {
        statusLine: '400 Bad Request',
        problem: new ProblemError('bad-request', `not a readable HTTP request (${error.code})`),
      };
  }
}

/** Answers `server`'s parser errors (its 'clientError' event) with problems. */
export function answerClientErrors(server: {
  on(event: 'clientError', listener: (error: ParserError, socket: Socket) => void): unknown;
}): void {
  server.on('clientError', (error, socket) => {
    const answer = answerFor(error);
    if (!answer || !socket.writable) {
      socket.destroy();
      return;
    }
    const body = answer.problem ? JSON.stringify(answer.problem.body()) : '';
    const headers = answer.problem
      ? `Content-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`
      : '';
    // The answer to a HEAD has the headers of the answer to a GET, and no body.
    const head = error.rawPacket?.subarray(0, 5).toString('latin1') === 'HEAD ';
    socket.end(
      `HTTP/1.1 ${answer.statusLine}\r\n${headers}X-Request-Id: ${randomUUID()}\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${head ? '' : body}`,
    );
  });
}
