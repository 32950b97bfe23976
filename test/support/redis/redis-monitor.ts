/**
 * Which process is doing what on a Redis server, seen from outside: MONITOR names the client
 * address (`127.0.0.1:<port>`) of every command, and Linux `/proc` says which process owns the
 * socket bound to that local port. Used to find the worker process that runs a given job
 * without any hook in the worker itself.
 */
import { Redis } from 'ioredis';
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
  // RESP2: ioredis 6 mis-parses MONITOR output on a RESP3 connection ("Command queue state
  // error"), since RESP3 has no monitor mode of its own.
  const client = new Redis(redisUrl, { protocol: 2, lazyConnect: true });
  client.on('error', () => {});
  const monitor = await client.monitor();
  monitor.on('error', () => {});
  const seen: { port: number; text: string }[] = [];
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    // Commands run inside a Lua script come from "lua": the EVALSHA that ran it is enough.
    const port = Number(source.slice(source.lastIndexOf(':') + 1));
    if (Number.isInteger(port)) seen.push({ port, text: args.join(' ').slice(0, 2_000) });
  });
  const stop = () => {
    monitor.disconnect();
    client.disconnect();
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
