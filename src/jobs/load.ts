/**
 * @module jobs/load
 * `JOB_TYPES=/path/to/module.mjs`: imports the module, whose default export is an array of job
 * types (`jobs/job-type`), and checks it into a {@link JobTypeRegistry} beside the built-in
 * types. The API and the workers load the same module; a module that cannot be used stops
 * start-up with one message saying what is wrong, and where.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { JobTypeError, JobTypeRegistry } from './registry.js';

/** One load per module and process (`npm start` runs the API and a worker in one process). */
const loaded = new Map<string, Promise<JobTypeRegistry>>();

/**
 * The built-in job types, plus those of the module at `modulePath` (relative paths start at
 * the working directory). Throws a {@link JobTypeError} when the module cannot be used.
 */
export function loadJobTypes(modulePath: string | undefined): Promise<JobTypeRegistry> {
  if (!modulePath) return Promise.resolve(JobTypeRegistry.builtIn());
  const file = resolve(modulePath);
  let registry = loaded.get(file);
  if (!registry) {
    registry = importModule(file).then((definitions) => JobTypeRegistry.from(definitions, `JOB_TYPES=${modulePath}`));
    loaded.set(file, registry);
  }
  return registry;
}

/** {@link loadJobTypes} for entry points: a module that cannot be used ends the process. */
export async function loadJobTypesOrExit(modulePath: string | undefined): Promise<JobTypeRegistry> {
  try {
    return await loadJobTypes(modulePath);
  } catch (error) {
    if (!(error instanceof JobTypeError)) throw error;
    console.error(`jobcast: ${error.message}`);
    process.exit(2);
  }
}

async function importModule(file: string): Promise<unknown> {
  const origin = `JOB_TYPES=${file}`;
  let module: { default?: unknown };
  try {
    module = (await import(pathToFileURL(file).href)) as { default?: unknown };
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    if (code === 'ERR_MODULE_NOT_FOUND' && message.includes(file)) throw new JobTypeError(`${origin}: no such file`);
    if (code === 'ERR_UNKNOWN_FILE_EXTENSION') {
      throw new JobTypeError(`${origin}: Node cannot run this kind of file; give it JavaScript (.mjs, or .js as ESM)`);
    }
    // A syntax error's message has no line (Node 20), and a loader in between may reword it.
    const syntax = syntaxErrorAt(file);
    if (syntax) throw new JobTypeError(`${origin}: ${syntax}`);
    throw new JobTypeError(`${origin}: the module threw while loading: ${message}`);
  }
  if (!('default' in module)) {
    throw new JobTypeError(`${origin}: the module has no default export (export default [ …job types ])`);
  }
  return module.default;
}

/**
 * The syntax error of `file` and where it is, if it has one: `node --check` says. Only asked
 * when the import failed, on the way to exiting.
 */
function syntaxErrorAt(file: string): string | undefined {
  const check = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8', timeout: 10_000 });
  const lines = check.stderr.split('\n');
  const at = lines[0]?.trim();
  const what = lines.find((line) => /^SyntaxError: /.test(line));
  return at && what ? `${what} at ${at.replace(/^file:\/\//, '')}` : undefined;
}
