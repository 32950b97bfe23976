/**
 * One HTTP/1.1 exchange on a fresh connection, with the request's bytes exactly as given: for
 * what `fetch` will not send (a malformed request line or header, headers past the parser's
 * limit, `Expect: 100-continue`). Resolves with everything the server wrote before it closed
 * the connection, unparsed.
 */
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

export interface RawExchangeOptions {
  /** Over TLS, as HTTP/1.1 (the server's certificate is not checked). */
  tls?: boolean;
  /** `send` is sent once the answer so far contains `seen` (e.g. a body once `100 Continue` came). */
  follow?: { seen: string; send: string };
}

export function rawExchange(url: string, request: string, options: RawExchangeOptions = {}): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = options.tls
      ? tlsConnect({ host: hostname, port: Number(port), rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] })
      : connect(Number(port), hostname);
    let answer = '';
    let followed = false;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      answer += chunk;
      if (options.follow && !followed && answer.includes(options.follow.seen)) {
        followed = true;
        socket.write(options.follow.send);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
    socket.once(options.tls ? 'secureConnect' : 'connect', () => socket.write(request));
  });
}
