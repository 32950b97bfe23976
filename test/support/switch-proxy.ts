/**
 * A TCP proxy whose upstream can be switched, the way a load balancer moves traffic off a
 * dead replica: EventSource reconnects to the URL it was given, so a client can only resume
 * on another API process if something in between sends it there. Connections already open
 * stay on the old upstream (and die with it); new ones go to the current upstream.
 */
import { createServer, type Socket, connect as tcpConnect } from 'node:net';

export interface SwitchProxy {
  url: string;
  /** The port new connections are forwarded to. */
  readonly upstream: number;
  /** Connections accepted so far, by the upstream they were forwarded to. */
  readonly accepted: ReadonlyMap<number, number>;
  switchTo(port: number): void;
  close(): Promise<void>;
}

export async function startSwitchProxy(initialUpstream: number): Promise<SwitchProxy> {
  let upstream = initialUpstream;
  const accepted = new Map<number, number>();
  const open = new Set<Socket>();
  const server = createServer((client) => {
    const target = upstream;
    accepted.set(target, (accepted.get(target) ?? 0) + 1);
    const backend = tcpConnect(target, '127.0.0.1');
    open.add(client);
    open.add(backend);
    // Either side going away (a reset included) takes the other with it, as a proxy would.
    const cut = () => {
      client.destroy();
      backend.destroy();
      open.delete(client);
      open.delete(backend);
    };
    client.on('error', cut).on('close', cut);
    backend.on('error', cut).on('close', cut);
    client.pipe(backend);
    backend.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    get upstream() {
      return upstream;
    },
    accepted,
    switchTo(next) {
      upstream = next;
    },
    close() {
      for (const socket of open) socket.destroy();
      open.clear();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
