/**
 * @module data-dir-lock
 * A local Redis's claim on its data directory, as a lock file in it, while it runs: a second
 * local Redis on the same directory (a second `npm start` from the same checkout, on other
 * ports) would write the same append-only file, and the next start would replay both servers'
 * data as one.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The directory is another running Redis's; the message says what to do. */
export class DataDirInUseError extends Error {
  override name = 'DataDirInUseError';
}

/** The lock file of a data directory in use: who holds it (this process, its redis-server) and the port. */
const LOCK_FILE = 'jobcast-redis.lock';

interface DirLock {
  pid: number;
  redisPid?: number | undefined;
  port: number;
}

/**
 * Claims `dir` for a local Redis on `port`, or throws a {@link DataDirInUseError} naming who holds
 * it. A lock whose processes are all gone (a `kill -9`) is stale and taken over; one this process
 * holds (a Redis started again after it exited) is taken over too.
 */
export function claimDataDir(dir: string, port: number): { held(redisPid: number | undefined): void; release(): void } {
  const path = join(dir, LOCK_FILE);
  const write = (lock: DirLock, flag: 'wx' | 'w') => writeFileSync(path, `${JSON.stringify(lock)}\n`, { flag });
  for (let attempt = 0; ; attempt++) {
    try {
      write({ pid: process.pid, port }, 'wx');
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
      const holder = readLock(path);
      if (holder && holder.pid !== process.pid && (alive(holder.pid) || alive(holder.redisPid))) {
        throw new DataDirInUseError(
          `the data directory ${dir} is in use by the local Redis of another jobcast (process ${holder.pid}, Redis on port ${holder.port}): two servers writing one append-only file would mix their data. Stop that one first, set LOCAL_REDIS_DIR to another directory, or share its Redis with REDIS_URL=redis://127.0.0.1:${holder.port}.`,
        );
      }
      rmSync(path, { force: true });
    }
  }
  let released = false;
  return {
    held: (redisPid) => {
      if (!released) write({ pid: process.pid, redisPid, port }, 'w');
    },
    release: () => {
      if (released) return;
      released = true;
      // Only our own: a lock another process took over meanwhile stays.
      if (readLock(path)?.pid === process.pid) rmSync(path, { force: true });
    },
  };
}

function readLock(path: string): DirLock | undefined {
  try {
    const lock = JSON.parse(readFileSync(path, 'utf8')) as Partial<DirLock>;
    return typeof lock.pid === 'number'
      ? { pid: lock.pid, redisPid: lock.redisPid, port: Number(lock.port) }
      : undefined;
  } catch {
    // Missing, or not ours to read (half written, edited): nobody holds it.
    return undefined;
  }
}

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
