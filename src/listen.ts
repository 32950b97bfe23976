/**
 * @module listen
 * A server that cannot listen says why in one line, naming the setting to change: a port in
 * use, a port that needs privileges, an address this machine does not have. Entry points print
 * the message and exit 1 — no stack trace, nothing left running.
 */

import { createServer } from 'node:net';

/** A listen failure we can explain; its message is the advice. */
export class ListenError extends Error {
  override name = 'ListenError';
}

/**
 * `error` (from a server's 'error' event while listening) as a {@link ListenError} when it is
 * one we can explain; otherwise `error` itself. {@link explainListenError} adds a free port to
 * suggest.
 *
 * @example
 * server.once('error', (e) => reject(listenError(e, { port: 3000, host: '127.0.0.1', portSetting: 'PORT' })));
 */
export function listenError(
  error: unknown,
  {
    port,
    host,
    portSetting,
    freePort,
  }: {
    port: number;
    host: string;
    portSetting: string;
    /** A port found free just now ({@link explainListenError}), to suggest. */
    freePort?: number | undefined;
  },
): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  switch (code) {
    case 'EADDRINUSE':
      return new ListenError(
        `port ${port} on ${host} is already in use: stop what listens there, or set ${portSetting} to a free port` +
          (freePort === undefined ? '' : ` (${portSetting}=${freePort} is free now)`),
      );
    case 'EACCES':
      return new ListenError(
        `not allowed to listen on ${where}: ports below 1024 need privileges; set ${portSetting} to 1024 or above`,
      );
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return new ListenError(`cannot listen on ${where}: HOST=${host} is not an address of this machine; set HOST`);
    default:
      return error;
  }
}

/**
 * Resolves once a server could listen on `host`:`port` right now (it is closed again at once);
 * rejects with what `listen` would fail with (see {@link listenError}). For a process that would
 * otherwise find out only after starting something it must then undo.
 */
export async function checkListenable(host: string, port: number, portSetting: string): Promise<void> {
  const probe = await tryListen(host, port);
  if ('error' in probe) throw await explainListenError(probe.error, { port, host, portSetting });
}

/**
 * {@link listenError}, with a port to suggest when this one is taken: the first of the next
 * twenty that could be listened on right now (a guess of `port + 1` named jobcast's own Redis).
 */
export async function explainListenError(
  error: unknown,
  where: { port: number; host: string; portSetting: string },
): Promise<unknown> {
  if ((error as NodeJS.ErrnoException | undefined)?.code !== 'EADDRINUSE') return listenError(error, where);
  for (let candidate = where.port + 1; candidate <= Math.min(65_535, where.port + 20); candidate++) {
    if ('port' in (await tryListen(where.host, candidate)))
      return listenError(error, { ...where, freePort: candidate });
  }
  return listenError(error, where);
}

/**
 * Listens on `host`:`port` right now and closes again at once: the port it got (0 asks for any
 * free one), or what listening failed with.
 */
export function tryListen(host: string, port: number): Promise<{ port: number } | { error: NodeJS.ErrnoException }> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => resolve({ error }));
    probe.listen({ port, host, exclusive: true }, () => {
      const { port: bound } = probe.address() as { port: number };
      probe.close(() => resolve({ port: bound }));
    });
  });
}
