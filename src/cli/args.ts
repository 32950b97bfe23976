/**
 * @module cli/args
 * The command line → a typed {@link Invocation}, with `node:util` parseArgs (the usage texts are
 * `cli/help`).
 * Pure: reads nothing but its arguments, so bad usage is caught before anything is sent.
 *
 * Global options may stand anywhere (`jobcast --json get <id>` = `jobcast get <id> --json`):
 * a lenient first pass finds the command, a strict second pass with that command's options
 * reports unknown options by name.
 *
 * @example
 * parseInvocation(['list', '--state', 'active'], {}).command
 * // → { name: 'list', query: { state: 'active' } }
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { JobState } from '../jobs/schemas.js';
import { UsageError } from './exit.js';

export const DEFAULT_URL = 'http://127.0.0.1:3000';
/** How long `watch` goes on trying without a connection before it exits 5. */
export const DEFAULT_GIVE_UP_MS = 30_000;

/**
 * The job states, for checking `--state` before sending it. Spelled out rather than read from
 * the zod schema so that the CLI, like the client, starts without loading zod; the check below
 * fails to compile if the schema gains a state this list lacks.
 */
export const JOB_STATES = [
  'queued',
  'active',
  'completed',
  'failed',
  'cancelled',
] as const satisfies readonly JobState[];
const allStatesListed: [Exclude<JobState, (typeof JOB_STATES)[number]>] extends [never] ? true : never = true;
void allStatesListed;
const isJobState = (value: string): value is JobState => (JOB_STATES as readonly string[]).includes(value);

type Options = NonNullable<ParseArgsConfig['options']>;

const globalOptions = {
  url: { type: 'string' },
  'api-key': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const satisfies Options;

const commandOptions = {
  submit: {
    data: { type: 'string', short: 'd' },
    attempts: { type: 'string' },
    'backoff-ms': { type: 'string' },
    'delay-ms': { type: 'string' },
    priority: { type: 'string' },
    'idempotency-key': { type: 'string' },
    tag: { type: 'string', short: 't', multiple: true },
    watch: { type: 'boolean', short: 'w' },
  },
  batch: {
    'idempotency-key': { type: 'string' },
  },
  watch: {},
  get: {},
  cancel: {},
  logs: {},
  webhooks: {},
  list: {
    state: { type: 'string' },
    type: { type: 'string' },
    tag: { type: 'string' },
    limit: { type: 'string' },
    cursor: { type: 'string' },
  },
} as const satisfies Record<string, Options>;

export type CommandName = keyof typeof commandOptions;
/** The commands, in the order `help` lists them. */
export const commandNames = Object.keys(commandOptions) as CommandName[];
export const isCommandName = (name: string): name is CommandName => Object.hasOwn(commandOptions, name);

export type Command =
  | { name: 'help'; topic?: CommandName }
  | { name: 'version' }
  | {
      name: 'submit';
      type: string;
      /** As given: JSON text, `@file` or `-` (stdin); read and parsed by the command. */
      data: string | undefined;
      options: { attempts?: number; backoffMs?: number; delayMs?: number; priority?: number } | undefined;
      idempotencyKey: string | undefined;
      /** `--tag`, repeatable; the service checks them. */
      tags: string[] | undefined;
      watch: boolean;
    }
  | {
      name: 'batch';
      /** As given: `@file`, a file name, or `-` (stdin); read and parsed by the command. */
      jobs: string;
      idempotencyKey: string | undefined;
    }
  | { name: 'watch'; id: string }
  | { name: 'get'; id: string }
  | { name: 'cancel'; id: string }
  | { name: 'logs'; id: string }
  | { name: 'webhooks'; id: string }
  | { name: 'list'; query: { state?: JobState; type?: string; tag?: string; limit?: number; cursor?: string } };

export interface Invocation {
  command: Command;
  url: string;
  apiKey: string | undefined;
  json: boolean;
  giveUpMs: number;
}

/** Parses argv (without `node` and the script) and the environment; throws {@link UsageError}. */
export function parseInvocation(argv: string[], env: Record<string, string | undefined>): Invocation {
  const first = parse(argv, { ...globalOptions, ...allCommandOptions() }, false);
  const [name, ...rest] = first.positionals;
  if (name === undefined) {
    if (first.values.help) return finish({ name: 'help' }, first.values, env);
    if (first.values.version) return finish({ name: 'version' }, first.values, env);
    // An option no command takes is named, not taken for a missing command.
    parse(argv, globalOptions, true);
    throw new UsageError('no command given');
  }
  if (name === 'help') {
    const topic = rest[0];
    if (topic !== undefined && !isCommandName(topic)) throw new UsageError(`no command ${JSON.stringify(topic)}`);
    return finish({ name: 'help', ...(topic ? { topic } : {}) }, first.values, env);
  }
  if (!isCommandName(name)) throw new UsageError(`unknown command ${JSON.stringify(name)}`);

  const { values, positionals } = parse(argv, { ...globalOptions, ...commandOptions[name] }, true, name);
  if (values.help) return finish({ name: 'help', topic: name }, values, env);
  const args = positionals.slice(1);
  return finish(buildCommand(name, args, values), values, env);
}

type Values = Record<string, string | boolean | string[] | undefined>;

function buildCommand(name: CommandName, args: string[], values: Values): Command {
  switch (name) {
    case 'submit': {
      const type = exactlyOne(args, 'a job type', name);
      const options = {
        attempts: integer(values.attempts, '--attempts', name),
        backoffMs: integer(values['backoff-ms'], '--backoff-ms', name),
        delayMs: integer(values['delay-ms'], '--delay-ms', name),
        priority: integer(values.priority, '--priority', name),
      };
      const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
      return {
        name,
        type,
        data: string(values.data),
        options: Object.keys(given).length > 0 ? given : undefined,
        idempotencyKey: string(values['idempotency-key']),
        tags: Array.isArray(values.tag) ? values.tag : undefined,
        watch: values.watch === true,
      };
    }
    case 'batch':
      return {
        name,
        jobs: exactlyOne(args, 'a file of jobs (or - for stdin)', name),
        idempotencyKey: string(values['idempotency-key']),
      };
    case 'list': {
      if (args.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(args[0])}`, name);
      const state = string(values.state);
      if (state !== undefined && !isJobState(state)) {
        throw new UsageError(`--state must be one of ${JOB_STATES.join(', ')}, not ${JSON.stringify(state)}`, name);
      }
      const query: Extract<Command, { name: 'list' }>['query'] = {};
      if (state !== undefined) query.state = state;
      const type = string(values.type);
      if (type !== undefined) query.type = type;
      const tag = string(values.tag);
      if (tag !== undefined) query.tag = tag;
      const limit = integer(values.limit, '--limit', name);
      if (limit !== undefined) query.limit = limit;
      const cursor = string(values.cursor);
      if (cursor !== undefined) query.cursor = cursor;
      return { name, query };
    }
    default:
      return { name, id: exactlyOne(args, 'a job id', name) };
  }
}

function finish(command: Command, values: Values, env: Record<string, string | undefined>): Invocation {
  const url = string(values.url) ?? (env.JOBCAST_URL || DEFAULT_URL);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--url / JOBCAST_URL is not a URL: ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UsageError(`--url / JOBCAST_URL must be http: or https:, not ${JSON.stringify(url)}`);
  }
  const giveUp = env.JOBCAST_GIVE_UP_MS;
  if (giveUp !== undefined && giveUp !== '' && !/^\d+$/.test(giveUp)) {
    throw new UsageError(`JOBCAST_GIVE_UP_MS must be a whole number of milliseconds, not ${JSON.stringify(giveUp)}`);
  }
  return {
    command,
    url,
    apiKey: string(values['api-key']) ?? (env.JOBCAST_API_KEY || undefined),
    json: values.json === true,
    giveUpMs: giveUp ? Number(giveUp) : DEFAULT_GIVE_UP_MS,
  };
}

function parse(argv: string[], options: Options, strict: boolean, command?: string) {
  try {
    return parseArgs({ args: argv, options, strict, allowPositionals: true }) as {
      values: Values;
      positionals: string[];
    };
  } catch (error) {
    // parseArgs reports bad usage as TypeErrors with ERR_PARSE_ARGS_* codes and readable messages.
    if ((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS_')) {
      throw new UsageError((error as Error).message.replace(/\. To specify a positional.*$/s, ''), command);
    }
    throw error;
  }
}

function allCommandOptions(): Options {
  return Object.assign({}, ...Object.values(commandOptions));
}

const string = (value: Values[string]): string | undefined => (typeof value === 'string' ? value : undefined);

function integer(value: Values[string], flag: string, command: string): number | undefined {
  if (typeof value !== 'string') return undefined;
  if (!/^\d+$/.test(value))
    throw new UsageError(`${flag} must be a whole number, not ${JSON.stringify(value)}`, command);
  return Number(value);
}

function exactlyOne(args: string[], what: string, command: string): string {
  if (args.length === 0) throw new UsageError(`missing ${what}`, command);
  if (args.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(args[1])}`, command);
  return args[0] as string;
}
