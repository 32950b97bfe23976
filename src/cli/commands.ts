/**
 * @module cli/commands
 * One function per command: call the client, print the answer (for people, or `--json` for
 * programs), return an exit code. Problems from the API are thrown, not printed here: `main`
 * prints them all the same way.
 */
import { readFile } from 'node:fs/promises';
import type { JobcastClient, JobResource } from '../../packages/client/src/index.js';
import { parseJsonText } from '../json-text.js';
import type { Command } from './args.js';
import { ExitCode, UsageError } from './exit.js';
import { JsonView, PlainView, type WatchView } from './render.js';
import { percent, sanitize } from './text.js';
import { TtyView } from './tty-view.js';
import { watchJob } from './watch.js';

export interface Io {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  stdin: NodeJS.ReadStream;
  env: Record<string, string | undefined>;
}

export interface Context {
  client: JobcastClient;
  url: string;
  json: boolean;
  giveUpMs: number;
  io: Io;
}

type Of<N extends Command['name']> = Extract<Command, { name: N }>;

export async function submit(command: Of<'submit'>, ctx: Context): Promise<ExitCode> {
  const data = command.data === undefined ? {} : await readJson(command.data, ctx.io.stdin, 'submit');
  const job = await ctx.client.submit(command.type, data, {
    ...(command.options ? { options: command.options } : {}),
    ...(command.idempotencyKey ? { idempotencyKey: command.idempotencyKey } : {}),
    ...(command.tags ? { tags: command.tags } : {}),
  });
  if (!command.watch) {
    ctx.io.stdout.write(ctx.json ? `${JSON.stringify(job, null, 2)}\n` : `${job.id}\n`);
    return ExitCode.ok;
  }
  // stdout carries the watch; the id goes to stderr so that it is not lost.
  ctx.io.stderr.write(`submitted ${job.id}\n`);
  return watch({ name: 'watch', id: job.id }, ctx);
}

export async function batch(command: Of<'batch'>, ctx: Context): Promise<ExitCode> {
  const arg = command.jobs === '-' || command.jobs.startsWith('@') ? command.jobs : `@${command.jobs}`;
  const parsed = await readJson(arg, ctx.io.stdin, 'batch');
  const jobs = Array.isArray(parsed) ? parsed : (parsed as { jobs?: unknown } | null)?.jobs;
  if (!Array.isArray(jobs)) throw new UsageError('the jobs must be a JSON list, or {"jobs": [...]}', 'batch', true);
  const result = await ctx.client.submitBatch(
    jobs,
    command.idempotencyKey ? { idempotencyKey: command.idempotencyKey } : {},
  );
  ctx.io.stdout.write(
    ctx.json ? `${JSON.stringify(result, null, 2)}\n` : result.items.map((job) => `${job.id}\n`).join(''),
  );
  return ExitCode.ok;
}

export function watch(command: Of<'watch'>, ctx: Context): Promise<ExitCode> {
  return watchJob(command.id, {
    client: ctx.client,
    url: ctx.url,
    giveUpMs: ctx.giveUpMs,
    view: chooseView(ctx),
    say: (line) => ctx.io.stderr.write(`${line}\n`),
  });
}

export async function get(command: Of<'get'>, ctx: Context): Promise<ExitCode> {
  const job = await ctx.client.get(command.id);
  ctx.io.stdout.write(ctx.json ? `${JSON.stringify(job, null, 2)}\n` : describeJob(job));
  return ExitCode.ok;
}

export async function cancel(command: Of<'cancel'>, ctx: Context): Promise<ExitCode> {
  const job = await ctx.client.cancel(command.id);
  if (ctx.json) ctx.io.stdout.write(`${JSON.stringify(job, null, 2)}\n`);
  else if (job.state === 'cancelled') ctx.io.stdout.write(`cancelled ${job.id}\n`);
  else ctx.io.stdout.write(`cancelling ${job.id}: it is ${job.state} and stops at its next check\n`);
  return ExitCode.ok;
}

export async function list(command: Of<'list'>, ctx: Context): Promise<ExitCode> {
  const page = await ctx.client.list(command.query);
  if (ctx.json) {
    ctx.io.stdout.write(`${JSON.stringify(page, null, 2)}\n`);
    return ExitCode.ok;
  }
  if (page.items.length === 0) ctx.io.stderr.write('no jobs\n');
  else {
    const rows = page.items.map((job) => [
      job.id,
      job.type,
      job.state,
      `${percent(job.progress)}%`,
      job.createdAt,
      sanitize(job.message ?? ''),
    ]);
    ctx.io.stdout.write(table([['ID', 'TYPE', 'STATE', 'PROGRESS', 'CREATED', 'MESSAGE'], ...rows]));
  }
  if (page.nextCursor) ctx.io.stderr.write(`more: jobcast list --cursor ${page.nextCursor}\n`);
  return ExitCode.ok;
}

export async function logs(command: Of<'logs'>, ctx: Context): Promise<ExitCode> {
  const page = await ctx.client.logs(command.id);
  if (ctx.json) {
    ctx.io.stdout.write(`${JSON.stringify(page, null, 2)}\n`);
    return ExitCode.ok;
  }
  if (page.truncated) ctx.io.stderr.write('(older lines were dropped)\n');
  for (const item of page.items) ctx.io.stdout.write(`${item.at}  ${sanitize(item.line)}\n`);
  return ExitCode.ok;
}

export async function webhooks(command: Of<'webhooks'>, ctx: Context): Promise<ExitCode> {
  const page = await ctx.client.webhooks(command.id);
  if (ctx.json) {
    ctx.io.stdout.write(`${JSON.stringify(page, null, 2)}\n`);
    return ExitCode.ok;
  }
  if (page.truncated) ctx.io.stderr.write('(older deliveries are no longer listed)\n');
  if (page.items.length === 0) {
    ctx.io.stderr.write('no webhook deliveries\n');
    return ExitCode.ok;
  }
  const rows = page.items.map((d) => [
    d.id,
    d.type,
    d.status,
    String(d.attempts),
    d.lastResponseCode === undefined ? '-' : String(d.lastResponseCode),
    d.status === 'delivered' ? `delivered ${d.deliveredAt ?? ''}` : d.nextAttemptAt ? `next ${d.nextAttemptAt}` : '-',
    sanitize(d.lastError ?? ''),
  ]);
  ctx.io.stdout.write(table([['WEBHOOK-ID', 'EVENT', 'STATUS', 'ATTEMPTS', 'LAST', 'WHEN', 'ERROR'], ...rows]));
  return ExitCode.ok;
}

function chooseView({ json, io }: Context): WatchView {
  if (json) return new JsonView(io.stdout);
  if (!io.stdout.isTTY) return new PlainView(io.stdout);
  // https://no-color.org: set and not empty disables colour.
  const color = !io.env.NO_COLOR && io.env.TERM !== 'dumb';
  return new TtyView(io.stdout, color);
}

/** JSON given as text, `@file`, or `-` for stdin (`submit --data`, `batch`). */
async function readJson(arg: string, stdin: NodeJS.ReadStream, command: 'submit' | 'batch'): Promise<unknown> {
  let text = arg;
  let source = '--data';
  if (arg === '-') {
    source = 'stdin';
    const chunks: Buffer[] = [];
    for await (const chunk of stdin) chunks.push(chunk as Buffer);
    text = Buffer.concat(chunks).toString('utf8');
  } else if (arg.startsWith('@')) {
    source = arg.slice(1);
    try {
      text = await readFile(source, 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read ${source}: ${(error as Error).message}`, command, true);
    }
  }
  try {
    return parseJsonText(text);
  } catch (error) {
    throw new UsageError(`${source} is not valid JSON: ${(error as Error).message}`, command, true);
  }
}

function describeJob(job: JobResource): string {
  const fields: [string, string | undefined][] = [
    ['id', job.id],
    ['type', job.type],
    ['state', job.state],
    ['progress', `${percent(job.progress)}%${job.message ? `  ${sanitize(job.message)}` : ''}`],
    ['in queue', job.queuePosition === undefined ? undefined : `#${job.queuePosition}`],
    ['starts', job.expectedStartAt === undefined ? undefined : `about ${job.expectedStartAt}`],
    ['eta', job.eta === undefined ? undefined : `${job.eta} (${job.rate} %/s)`],
    ['stalled', job.stalled ? 'yes: no report for longer than usual' : undefined],
    ['details', job.details === undefined ? undefined : sanitize(JSON.stringify(job.details))],
    ['tags', job.tags?.join(', ')],
    ['attempts', `${job.attempts} of ${job.maxAttempts}`],
    ['created', job.createdAt],
    ['runs at', job.runAt],
    ['started', job.startedAt],
    ['finished', job.finishedAt],
    ['result', job.result === undefined ? undefined : JSON.stringify(job.result)],
    ['error', job.error === undefined ? undefined : sanitize(job.error)],
    ['webhook', job.webhook ? describeWebhook(job.webhook) : undefined],
  ];
  return table(fields.filter((f): f is [string, string] => f[1] !== undefined));
}

function describeWebhook(webhook: NonNullable<JobResource['webhook']>): string {
  const { pending, delivered, failed, superseded } = webhook.deliveries;
  const state = webhook.status === 'disabled' ? `disabled (${sanitize(webhook.disabledReason ?? '')})` : 'active';
  const replaced = superseded > 0 ? `, ${superseded} superseded` : '';
  return `${sanitize(webhook.url)} [${webhook.events.join(', ')}] ${state}: ${delivered} delivered, ${pending} pending, ${failed} failed${replaced} (jobcast webhooks <id>)`;
}

function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  }
  const lines = rows.map((row) =>
    row
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
  return `${lines.join('\n')}\n`;
}
