/**
 * @module cli/main
 * The `jobcast` command's entry (started by `bin/jobcast.mjs`): wires the process to
 * {@link runCli} and sets the exit code.
 *
 * @example
 * jobcast submit simulate --data '{"steps":10}' --watch
 */
import { runCli } from './run.js';

// `jobcast … | head` closes the pipe early: that is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
});
process.exitCode = code;
// Normally the process ends here by itself. Should a keep-alive socket or a timer hold it,
// leave anyway (unref: this timer alone keeps nothing alive).
setTimeout(() => process.exit(code), 1_000).unref();
