/**
 * A TCP proxy in front of a server, the way a load balancer or a network path sits between a
 * client and the API:
 * - its connections can be cut (both sides destroyed at once, no HTTP-level goodbye): what a
 *   client sees when the path drops it mid-stream;
 * - its upstream can be switched, as a load balancer moves traffic off a dead replica:
 *   EventSource reconnects to the URL it was given, so a client can only resume on another API
 *   process if something in between sends it there. Connections already open stay on the old
 *   upstream (and die with it); new ones go to the current upstream.
 * - what clients send can be held (it waits in their sockets) and released: a request caught
 *   in flight on a slow network, for as long as a test needs something to happen meanwhile.
 */
import { createServer, type Socket, connect as tcpConnect } from 'node:net';

export interface TcpProxy {
  url: string;
  /** The port new connections are forwarded to. */
  readonly upstream: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Connections accepted so far, by the upstream they were forwarded to. */
  readonly acceptedBy: ReadonlyMap<number, number>;
  /** Sends new connections to `port`. */
  switchTo(port: number): void;
  /** Destroys every open connection, on both sides; returns how many were cut. */
  cutAll(): number;
  /** Stops forwarding what clients send, on open and new connections, until {@link release}. */
  hold(): void;
  /** Forwards what clients sent while held, and everything after. */
  release(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(initialUpstream: number): Promise<TcpProxy> {
  let upstream = initialUpstream;
  const acceptedBy = new Map<number, number>();
  let accepted = 0;
  const open = new Set<Socket>();
  /** Each client's connection upstream, to stop and restart forwarding what it sends. */
  const upstreamOf = new Map<Socket, Socket>();
  let held = false;
  const server = createServer((client) => {
    const target = upstream;
    accepted++;
    acceptedBy.set(target, (acceptedBy.get(target) ?? 0) + 1);
    const backend = tcpConnect(target, '127.0.0.1');
    open.add(client);
    open.add(backend);
    // Either side going away (a reset included) takes the other with it, as a proxy would.
    const cut = () => {
      client.destroy();
      backend.destroy();
      open.delete(client);
      open.delete(backend);
      upstreamOf.delete(client);
    };
    client.on('error', cut).on('close', cut);
    backend.on('error', cut).on('close', cut);
    upstreamOf.set(client, backend);
    if (!held) client.pipe(backend);
    backend.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    get upstream() {
      return upstream;
    },
    get accepted() {
      return accepted;
    },
    acceptedBy,
    switchTo(next) {
      upstream = next;
    },
    cutAll() {
      const sockets = [...open];
      for (const socket of sockets) socket.destroy();
      open.clear();
      upstreamOf.clear();
      return sockets.length / 2;
    },
    hold() {
      held = true;
      // Unpiped, a client socket stops flowing: what it receives waits in its buffers.
      for (const [client, backend] of upstreamOf) client.unpipe(backend);
    },
    release() {
      held = false;
      for (const [client, backend] of upstreamOf) client.pipe(backend);
    },
    close() {
      for (const socket of open) socket.destroy();
      open.clear();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
