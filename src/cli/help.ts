/**
 * @module cli/help
 * The usage texts: one per command, the options every command takes, the exit codes. Kept apart
 * from the parsing (`cli/args`) because they are prose to keep true, not logic: when an option
 * is added there, its line belongs here.
 */
import { type CommandName, commandNames, DEFAULT_URL, isCommandName, JOB_STATES } from './args.js';

const GLOBAL_HELP = `Options for every command:
  --url <url>        the jobcast API (env JOBCAST_URL, default ${DEFAULT_URL})
  --api-key <key>    sent as Authorization: Bearer <key> (env JOBCAST_API_KEY)
  --json             machine-readable output (watch: one JSON event per line)
  -h, --help         help for a command
  -v, --version      the version of this command`;

const EXIT_HELP = `Exit codes:
  0 ok / the job completed   1 the job failed   2 bad usage   3 the job was cancelled
  4 the API reported a problem (e.g. job not found)   5 the server is unreachable
  130 interrupted (Ctrl-C while watching; the job keeps running)`;

const COMMAND_HELP: Record<CommandName, string> = {
  submit: `jobcast submit <type> [--data <json>] [--watch] [options]
  Submits a job and prints its id (--json: the job resource); with --watch, follows it to the end.
    -d, --data <json>          the job's input: JSON text, @file to read a file, - for stdin
    -w, --watch                watch the job until it finishes (exit code = its outcome)
    --attempts <n>             attempts before the job fails (default 1)
    --backoff-ms <n>           delay before a retry, doubling each time
    --delay-ms <n>             run no earlier than n ms from now
    --priority <n>             0 = none; otherwise 1 is the highest
    --idempotency-key <key>    submitting again with the same key returns the same job
    -t, --tag <tag>            a label to list and follow the job by (repeatable, up to 10)
  e.g. jobcast submit simulate --data '{"steps":10,"stepMs":300}' --tag demo --watch`,
  batch: `jobcast batch <file | ->
  Submits up to 100 jobs in one request, all or none, and prints their ids, one per line
  (--json: {"items":[…],"links":{"events"}}). The file holds a JSON list of jobs, or {"jobs":[…]};
  a job is {"type", "data"?, "options"?}, as for POST /jobs.
    --idempotency-key <key>    submitting again with the same key returns the same jobs
  e.g. jobcast batch jobs.json | xargs -n1 jobcast watch`,
  watch: `jobcast watch <id>
  Follows a job live until it finishes: a progress bar on a terminal (with the time left, or the
  job's place in the queue), one line per event otherwise. Resumes by itself after a lost
  connection; Ctrl-C stops watching, not the job.`,
  get: `jobcast get <id>
  Prints a job: state, progress, result or error (--json: the job resource).`,
  cancel: `jobcast cancel <id>
  Cancels a queued or running job (a running job stops at its next check).`,
  logs: `jobcast logs <id>
  Prints the lines a job logged (--json: {"items":[{"seq","line","at"}],"truncated"}).`,
  webhooks: `jobcast webhooks <id>
  Prints a job's webhook deliveries: webhook-id, event, status, attempts, the receiver's last
  answer, when the next attempt is due (--json: {"items":[…],"truncated"}).`,
  list: `jobcast list [--state <state>] [--type <type>] [--tag <tag>] [--limit <n>] [--cursor <c>]
  Lists the API key's jobs, newest first (--json: {"items":[…],"nextCursor"}). Needs an API key:
  a service without keys lists nothing (a job id is the only way to a job there).
    --state <state>    ${JOB_STATES.join(' | ')}
    --type <type>      only jobs of this type
    --tag <tag>        only jobs with this tag
    --limit <n>        1–100 (default 20)
    --cursor <c>       the nextCursor of the previous page`,
};

/** The usage text: of one command (`topic`), or of them all. */
export function usage(topic?: string): string {
  if (topic !== undefined && isCommandName(topic)) return `Usage: ${COMMAND_HELP[topic]}\n\n${GLOBAL_HELP}\n`;
  const summary = commandNames.map((name) => `  ${COMMAND_HELP[name].split('\n')[0]}`).join('\n');
  return `jobcast — submit jobs and watch their progress.\n\nUsage:\n${summary}\n  jobcast help <command>\n\n${GLOBAL_HELP}\n\n${EXIT_HELP}\n`;
}
