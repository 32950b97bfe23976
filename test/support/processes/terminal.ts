/**
 * A command run in a real pseudo-terminal (test/support/processes/terminal.py, Python's `pty`), as a
 * person runs `npm start`: it is the terminal's foreground process group, and `ctrlC()` types
 * ^C, so the terminal sends SIGINT to every process of that group at once — not one
 * `kill -INT <pid>`, which would miss the copies the other processes get.
 */
import { join } from 'node:path';
import { repoRoot, type Spawned, spawnProcess } from './processes.js';

export interface Terminal {
  /** The python process holding the terminal (the command runs under it). */
  process: Spawned;
  /** Everything the command printed (stdout and stderr share the terminal). */
  output(): string;
  /** Types ^C. */
  ctrlC(): void;
  /** The command's exit, as the terminal saw it: a code (128 + n for signal n). */
  exited: Promise<{ code: number | null; at: number }>;
}

export function runInTerminal(command: string, args: string[], env: Record<string, string>): Terminal {
  const p = spawnProcess('python3', [join(repoRoot, 'test/support/processes/terminal.py'), command, ...args], env, {
    stdin: true,
  });
  return {
    process: p,
    output: () => p.stdout(),
    ctrlC: () => p.child.stdin?.write('ctrl-c\n'),
    exited: p.exited.then((exit) => ({ code: exit.code, at: exit.at })),
  };
}
