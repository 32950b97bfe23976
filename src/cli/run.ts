/**
 * @module cli/run
 * `jobcast <command> …` → exit code: parse the command line, run the command, and report every
 * kind of failure in one place, each with its own exit code (see `cli/exit`).
 */
import pkg from '../../package.json' with { type: 'json' };
import type { JobcastError } from '../../packages/client/src/index.js';
import { parseInvocation } from './args.js';
import type * as Commands from './commands.js';
import { ExitCode, UsageError } from './exit.js';
import { usage } from './help.js';

export async function runCli(argv: string[], io: Commands.Io): Promise<ExitCode> {
  const say = (line: string) => io.stderr.write(`jobcast: ${line}\n`);
  // Known once the command line is parsed; error messages name it.
  let url = '';
  try {
    const { command, json, apiKey, giveUpMs, ...invocation } = parseInvocation(argv, io.env);
    url = invocation.url;
    if (command.name === 'help') {
      io.stdout.write(usage(command.topic));
      return ExitCode.ok;
    }
    if (command.name === 'version') {
      io.stdout.write(`jobcast ${pkg.version}\n`);
      return ExitCode.ok;
    }
    // Loaded only for a command that talks to a server: `--help` and usage errors stay fast.
    const [{ JobcastClient }, commands] = await Promise.all([
      import('../../packages/client/src/index.js'),
      import('./commands.js'),
    ]);
    const client = new JobcastClient({ baseUrl: url, ...(apiKey ? { apiKey } : {}) });
    const ctx: Commands.Context = { client, url, json, giveUpMs, io };
    switch (command.name) {
      case 'submit':
        return await commands.submit(command, ctx);
      case 'batch':
        return await commands.batch(command, ctx);
      case 'watch':
        return await commands.watch(command, ctx);
      case 'get':
        return await commands.get(command, ctx);
      case 'cancel':
        return await commands.cancel(command, ctx);
      case 'list':
        return await commands.list(command, ctx);
      case 'logs':
        return await commands.logs(command, ctx);
      case 'webhooks':
        return await commands.webhooks(command, ctx);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      say(error.message);
      if (error.input) io.stderr.write(`(jobcast ${error.command ? `${error.command} ` : ''}--help for the usage)\n`);
      else io.stderr.write(`\n${usage(error.command)}`);
      return ExitCode.usage;
    }
    if (error instanceof Error && error.name === 'JobcastError') {
      say(await describeProblem(error as JobcastError));
      return ExitCode.api;
    }
    // fetch reports a failed connection as TypeError('fetch failed') with the socket error as cause.
    if (error instanceof TypeError && error.cause instanceof Error) {
      say(`cannot reach ${url}: ${error.cause.message}`);
      return ExitCode.unreachable;
    }
    if (error instanceof SyntaxError) {
      say(`the server at ${url} sent a response that is not JSON (${error.message})`);
      return ExitCode.api;
    }
    throw error;
  }
}

/** `Job not found (404): no job with id "…"`, then one line per field error. */
async function describeProblem({ status, problem }: JobcastError): Promise<string> {
  const { sanitize } = await import('./text.js');
  let text = `${sanitize(problem.title ?? 'HTTP error')} (${status})`;
  if (problem.detail) text += `: ${sanitize(problem.detail)}`;
  if (Array.isArray(problem.errors)) {
    for (const e of problem.errors as { path?: unknown; message?: unknown }[]) {
      const line = `${sanitize(String(e.path ?? ''))}: ${sanitize(String(e.message ?? ''))}`;
      // jobcast's own detail already quotes the field errors; other servers' may not.
      if (!problem.detail?.includes(line)) text += `\n  ${line}`;
    }
  }
  return text;
}
