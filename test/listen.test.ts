/**
 * The one line a server that cannot listen prints (`listen`): a taken port is told with a port
 * to use instead that is free, checked, not guessed (`port + 1` once named jobcast's own Redis).
 */
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { checkListenable, ListenError } from '../src/listen.js';
import { freePort } from './support/runner/global-setup.js';

const held: Server[] = [];
afterEach(async () => {
  await Promise.all(held.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** Listens on `port` if it can (something else may hold it: taken either way). */
function occupy(port: number): Promise<void> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve());
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      held.push(server);
      resolve();
    });
  });
}

describe('a port already in use', () => {
  it('is named with the setting, and a port that is free now to set it to, never the next one when that is taken', async () => {
    const port = await freePort();
    await occupy(port);
    await occupy(port + 1);
    const error = await checkListenable('127.0.0.1', port, 'PORT').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ListenError);
    const message = (error as Error).message;
    expect(message).toContain(`port ${port} on 127.0.0.1 is already in use`);
    const suggested = Number(/PORT=(\d+) is free now/.exec(message)?.[1]);
    expect(suggested, message).toBeGreaterThan(port + 1);
    await expect(checkListenable('127.0.0.1', suggested, 'PORT')).resolves.toBeUndefined();
  });
});
