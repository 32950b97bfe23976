/**
 * @module bench/lib/kernel
 * Raises kernel network settings for one scenario and puts the previous values back afterwards,
 * whatever happens (an error, Ctrl-C, SIGTERM). Loopback delivers through a per-CPU backlog of
 * `net.core.netdev_max_backlog` packets: a burst to 100,000 sockets overflows the default 1000,
 * and the dropped packets become TCP retransmissions and, at worst, aborted streams.
 */
import { readFileSync, writeFileSync } from 'node:fs';

/** A sysctl name (`net.core.somaxconn`) → its file under /proc/sys. */
const file = (name: string) => `/proc/sys/${name.replaceAll('.', '/')}`;

const read = (name: string) => Number(readFileSync(file(name), 'utf8').trim());

export interface Raised {
  /** What was set (name → value), or why nothing could be. */
  set: Record<string, number>;
  previous: Record<string, number>;
  error?: string;
}

/**
 * Runs `fn` with each setting at least as high as asked (a value already higher is kept), then
 * restores the previous ones. Without the right to write them (not root), `fn` runs anyway and
 * `error` says why.
 */
export async function withSysctl<T>(wanted: Record<string, number>, fn: (raised: Raised) => Promise<T>): Promise<T> {
  const previous: Record<string, number> = {};
  const set: Record<string, number> = {};
  const restore = () => {
    for (const [name, value] of Object.entries(previous)) {
      try {
        writeFileSync(file(name), String(value));
      } catch {
        // Nothing more to do: it was written by us, so it can be written back; say so if not.
        console.error(`could not restore ${name} to ${value}`);
      }
    }
  };
  const onSignal = (signal: NodeJS.Signals) => {
    restore();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  let error: string | undefined;
  try {
    for (const [name, value] of Object.entries(wanted)) {
      const now = read(name);
      if (now >= value) continue;
      writeFileSync(file(name), String(value));
      previous[name] = now;
      set[name] = value;
    }
  } catch (e) {
    error = `could not raise kernel settings (${(e as Error).message}); run as root for this scenario`;
  }
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await fn({ set, previous, error });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    restore();
  }
}
