/**
 * @module bench/lib/ipc
 * Request/response over a forked child's IPC channel: the orchestrator calls `child.call(cmd,
 * args)`, the child answers from a table of handlers. `advanced` serialization carries typed
 * arrays (latency samples) without JSON.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

interface Request {
  id: number;
  cmd: string;
  args: unknown;
}

interface Reply {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: string;
}

export type Handlers = Record<string, (args: never) => unknown>;

/** In the child: answers requests with `handlers`; exits when the parent goes away. */
export function serve(handlers: Handlers): void {
  process.on('message', (message: Request) => {
    const handler = handlers[message.cmd] as ((args: unknown) => unknown) | undefined;
    const reply = (r: Omit<Reply, 'id'>) => process.send?.({ id: message.id, ...r });
    if (!handler) {
      reply({ ok: false, error: `unknown command ${message.cmd}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(message.args))
      .then(
        (value) => reply({ ok: true, value }),
        (error: unknown) => reply({ ok: false, error: error instanceof Error ? error.stack : String(error) }),
      );
  });
  process.on('disconnect', () => process.exit(0));
}

export class Child {
  readonly process: ChildProcess;
  #next = 0;
  readonly #waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly #exited: Promise<void>;

  constructor(
    module: string,
    env: Record<string, string> = {},
    readonly name = module,
  ) {
    const path = fileURLToPath(new URL(`../${module}`, import.meta.url));
    this.process = fork(path, [], {
      execArgv: ['--import', 'tsx'],
      serialization: 'advanced',
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.process.on('message', (reply: Reply) => {
      const waiter = this.#waiting.get(reply.id);
      if (!waiter) return;
      this.#waiting.delete(reply.id);
      if (reply.ok) waiter.resolve(reply.value);
      else waiter.reject(new Error(`${this.name}: ${reply.error}`));
    });
    this.#exited = new Promise((resolve) => this.process.once('exit', () => resolve()));
    // Never rejects (it only resolves on exit): nothing to catch.
    void this.#exited.then(() => {
      for (const waiter of this.#waiting.values()) waiter.reject(new Error(`${this.name} exited`));
      this.#waiting.clear();
    });
  }

  get pid(): number {
    return this.process.pid as number;
  }

  /** Sends a command; rejects if the child fails it, exits, or takes longer than `timeoutMs`. */
  call<T>(cmd: string, args: unknown = {}, timeoutMs = 120_000): Promise<T> {
    const id = ++this.#next;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new Error(`${this.name}: ${cmd} took longer than ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiting.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.process.send({ id, cmd, args } satisfies Request);
    });
  }

  async stop(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    this.process.disconnect();
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 5_000);
    await this.#exited;
    clearTimeout(timer);
  }
}
