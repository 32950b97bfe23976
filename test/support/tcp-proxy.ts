/**
 * A TCP proxy in front of a server, whose connections a test can cut (both sides destroyed at
 * once, no HTTP-level goodbye): what a client sees when a network path or a load balancer
 * drops it mid-stream.
 */
import { createServer, type Socket, connect as tcpConnect } from 'node:net';

export interface CuttableProxy {
  url: string;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Destroys every open connection, on both sides; returns how many were cut. */
  cutAll(): number;
  close(): Promise<void>;
}

export async function startCuttableProxy(targetPort: number): Promise<CuttableProxy> {
  const open = new Set<Socket>();
  let accepted = 0;
  const server = createServer((client) => {
    accepted++;
    const upstream = tcpConnect(targetPort, '127.0.0.1');
    open.add(client);
    open.add(upstream);
    const cut = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', cut).on('close', cut);
    upstream.on('error', cut).on('close', cut);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    get accepted() {
      return accepted;
    },
    cutAll() {
      const sockets = [...open];
      for (const socket of sockets) socket.destroy();
      open.clear();
      return sockets.length / 2;
    },
    close() {
      for (const socket of open) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
