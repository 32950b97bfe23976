/**
 * Which process is doing what on a Redis server, seen from outside: MONITOR names the client
 * address (`127.0.0.1:<port>`) of every command, and Linux `/proc` says which process owns the
 * socket bound to that local port. Used to find the worker process that runs a given job
 * without any hook in the worker itself.
 */
import { connect } from 'node:net';
import { localPorts } from '../../../bench/lib/proc.js';
import { waitFor } from '../harness/harness.js';

export interface RedisMonitor {
  /** Commands seen so far. */
  readonly commands: number;
  /**
   * The first of `pids` seen (from the start of monitoring) sending a command whose arguments
   * mention `needle`, e.g. a job id; waits up to `timeoutMs` for one.
   */
  sender(needle: string, pids: number[], timeoutMs: number): Promise<number>;
  stop(): void;
}

/** Starts recording every command on the server at `redisUrl`, with the client port that sent it. */
export async function startMonitor(redisUrl: string): Promise<RedisMonitor> {
  // A plain socket, not ioredis: ioredis 6 now and then hands a MONITOR line to its command
  // queue ("Command queue state error"). MONITOR's replies are one line each:
  // `+<time> [<db> <address>:<port>] "command" "arg" …` (or `lua` for commands a script ran:
  // the EVALSHA that ran it is enough).
  const { hostname, port } = new URL(redisUrl);
  const socket = connect({ host: hostname, port: Number(port) });
  socket.setEncoding('utf8');
  socket.on('error', () => {});
  const seen: { port: number; text: string }[] = [];
  let partial = '';
  let started: (() => void) | undefined;
  const ready = new Promise<void>((resolve) => {
    started = resolve;
  });
  socket.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\r\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line === '+OK') started?.();
      const match = /^\+[\d.]+ \[\d+ (\S+)\] (.*)$/.exec(line);
      if (!match) continue;
      const clientPort = Number((match[1] as string).slice((match[1] as string).lastIndexOf(':') + 1));
      if (Number.isInteger(clientPort)) seen.push({ port: clientPort, text: (match[2] as string).slice(0, 2_000) });
    }
  });
  socket.write('MONITOR\r\n');
  await ready;
  const stop = () => {
    socket.destroy();
  };
  return {
    get commands() {
      return seen.length;
    },
    async sender(needle, pids, timeoutMs) {
      let found: number | undefined;
      let checked = 0;
      await waitFor(
        () => {
          for (; checked < seen.length && found === undefined; checked++) {
            const command = seen[checked] as { port: number; text: string };
            if (!command.text.includes(needle)) continue;
            found = pids.find((pid) => localPorts(pid).has(command.port));
          }
          return found !== undefined;
        },
        `one of processes ${pids.join(', ')} to send a command mentioning ${needle}`,
        timeoutMs,
      );
      return found as number;
    },
    stop,
  };
}
