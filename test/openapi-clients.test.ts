/**
 * Two independent generators turn openapi.yaml into a typed client, with their default
 * options: openapi-typescript (types) + openapi-fetch, and @hey-api/openapi-ts (types and an
 * SDK). The generated code and a small program written against each typecheck under
 * `strict` — request bodies are the zod input types, so `{type: 'simulate', data: {steps: 3}}`
 * needs no defaulted field, while a missing `type` is an error — and each program submits,
 * lists, reads, cancels and reads the logs of a job on a live jobcast.
 *
 * Everything is generated once, into a temporary directory, and typechecked in one program.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createClient as heyApi } from '@hey-api/openapi-ts';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiYaml } from '../src/openapi/index.js';
import { type Harness, startHarness } from './support/harness/harness.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** What each program reports, for the test to check. */
interface Outcome {
  submitted: { state: string; progress: number; runAt?: string };
  listed: string[];
  read: { id: string; state: string };
  cancelled: string;
  logs: { items: unknown[]; truncated: boolean };
  missing: { status: number; type: string };
}

/**
 * The program for openapi-typescript + openapi-fetch. `typeErrors` is never called: each of
 * its lines must be a type error, or `@ts-expect-error` itself fails the typecheck.
 */
const OPENAPI_FETCH_PROGRAM = `import createClient from 'openapi-fetch';
import type { components, paths } from './openapi-typescript/schema.js';

type Job = components['schemas']['JobResource'];

export async function run(baseUrl: string, apiKey: string) {
  const api = createClient<paths>({ baseUrl, headers: { authorization: \`Bearer \${apiKey}\` } });
  const submitted = await api.POST('/jobs', {
    body: { type: 'simulate', data: { steps: 3 }, options: { delayMs: 60_000 } },
  });
  if (!submitted.data) throw new Error(\`submit: \${submitted.response.status}\`);
  const job: Job = submitted.data;
  const list = await api.GET('/jobs', { params: { query: { state: 'queued', limit: 100 } } });
  const read = await api.GET('/jobs/{id}', { params: { path: { id: job.id } } });
  const cancelled = await api.POST('/jobs/{id}/cancel', { params: { path: { id: job.id } } });
  const logs = await api.GET('/jobs/{id}/logs', { params: { path: { id: job.id } } });
  const missing = await api.GET('/jobs/{id}', { params: { path: { id: '0b6f3e9c-2d7a-4c1e-9f0a-5e8d7c6b5a49' } } });
  if (!list.data || !read.data || !cancelled.data || !logs.data || !missing.error) throw new Error('a call failed');
  return {
    submitted: { state: job.state, progress: job.progress, runAt: job.runAt },
    listed: list.data.items.map((item) => item.id),
    read: { id: read.data.id, state: read.data.state },
    cancelled: cancelled.data.state,
    logs: { items: logs.data.items, truncated: logs.data.truncated },
    missing: { status: missing.response.status, type: missing.error.type },
  };
}

export function typeErrors(api: ReturnType<typeof createClient<paths>>) {
  // @ts-expect-error a job needs its type
  void api.POST('/jobs', { body: { data: { steps: 3 } } });
  // @ts-expect-error steps is a number
  void api.POST('/jobs', { body: { type: 'simulate', data: { steps: 'three' } } });
  // @ts-expect-error no such option
  void api.POST('/jobs', { body: { type: 'simulate', options: { retries: 3 } } });
  // @ts-expect-error no such state
  void api.GET('/jobs', { params: { query: { state: 'sleeping' } } });
}
`;

/** The program for @hey-api/openapi-ts's SDK (its fetch client). */
const HEY_API_PROGRAM = `import { createClient, createConfig } from './hey-api/client/index.js';
import { cancelJob, getJob, getJobLogs, listJobs, submitJob } from './hey-api/sdk.gen.js';
import type { JobResource } from './hey-api/types.gen.js';

export async function run(baseUrl: string, apiKey: string) {
  const client = createClient(createConfig({ baseUrl, headers: { authorization: \`Bearer \${apiKey}\` } }));
  const submitted = await submitJob({
    client,
    body: { type: 'simulate', data: { steps: 3 }, options: { delayMs: 60_000 } },
  });
  if (!submitted.data) throw new Error(\`submit: \${submitted.response.status}\`);
  const job: JobResource = submitted.data;
  const list = await listJobs({ client, query: { state: 'queued', limit: 100 } });
  const read = await getJob({ client, path: { id: job.id } });
  const cancelled = await cancelJob({ client, path: { id: job.id } });
  const logs = await getJobLogs({ client, path: { id: job.id } });
  const missing = await getJob({ client, path: { id: '0b6f3e9c-2d7a-4c1e-9f0a-5e8d7c6b5a49' } });
  if (!list.data || !read.data || !cancelled.data || !logs.data || !missing.error) throw new Error('a call failed');
  return {
    submitted: { state: job.state, progress: job.progress, runAt: job.runAt },
    listed: list.data.items.map((item) => item.id),
    read: { id: read.data.id, state: read.data.state },
    cancelled: cancelled.data.state,
    logs: { items: logs.data.items, truncated: logs.data.truncated },
    missing: { status: missing.response.status, type: missing.error.type },
  };
}

export function typeErrors(client: ReturnType<typeof createClient>) {
  // @ts-expect-error a job needs its type
  void submitJob({ client, body: { data: { steps: 3 } } });
  // @ts-expect-error steps is a number
  void submitJob({ client, body: { type: 'simulate', data: { steps: 'three' } } });
  // @ts-expect-error no such option
  void submitJob({ client, body: { type: 'simulate', options: { retries: 3 } } });
  // @ts-expect-error no such state
  void listJobs({ client, query: { state: 'sleeping' } });
}
`;

const API_KEY = 'generated-clients-key-0123456789';

describe('clients generated from openapi.yaml', () => {
  let dir: string;
  let h: Harness;
  let diagnostics: string[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jobcast-clients-'));
    // The generated code imports openapi-fetch and typescript's lib from the project.
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    const spec = join(dir, 'openapi.yaml');
    writeFileSync(spec, openApiYaml());

    // Default options of both generators: no flags.
    mkdirSync(join(dir, 'openapi-typescript'));
    // A .ts file, not .d.ts: checked in full while the libraries' declarations are skipped.
    writeFileSync(join(dir, 'openapi-typescript', 'schema.ts'), astToString(await openapiTS(pathToFileURL(spec))));
    await heyApi({
      input: spec,
      output: join(dir, 'hey-api'),
      plugins: ['@hey-api/client-fetch'],
      logs: { level: 'silent' },
    });
    writeFileSync(join(dir, 'openapi-fetch-program.ts'), OPENAPI_FETCH_PROGRAM);
    writeFileSync(join(dir, 'hey-api-program.ts'), HEY_API_PROGRAM);

    // One typecheck of everything generated and both programs, as strict as it gets.
    const program = ts.createProgram([join(dir, 'openapi-fetch-program.ts'), join(dir, 'hey-api-program.ts')], {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      noUncheckedIndexedAccess: true,
      exactOptionalPropertyTypes: false,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
      types: [],
    });
    diagnostics = ts.getPreEmitDiagnostics(program).map((d) => {
      const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
      const at = d.file ? `${d.file.fileName.slice(dir.length + 1)}:${(where?.line ?? 0) + 1}` : '(program)';
      return `${at}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
    // Started only now: the typecheck above holds this process's event loop for seconds, and a
    // server started before it had its Redis connections time out and reconnect meanwhile (a CI
    // run saw the subscriber's new connection land in the next test, which then "leaked" it).
    // Keyed: listing needs a key (an open service lists nothing).
    h = await startHarness({ env: { API_KEYS: API_KEY } });
  }, 120_000);

  afterAll(async () => {
    await h?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('typecheck under strict: the generated code, and programs that use it (and the type errors they must make)', () => {
    expect(diagnostics).toEqual([]);
  });

  it.each([
    ['openapi-typescript + openapi-fetch', 'openapi-fetch-program.ts'],
    ['@hey-api/openapi-ts', 'hey-api-program.ts'],
  ])('%s: submits, lists, reads, cancels and reads the logs of a job on a live server', async (_name, file) => {
    const program = (await import(pathToFileURL(join(dir, file)).href)) as {
      run(url: string, apiKey: string): Promise<Outcome>;
    };
    const outcome = await program.run(h.url, API_KEY);
    expect(outcome.submitted).toEqual({ state: 'queued', progress: 0, runAt: expect.any(String) });
    expect(outcome.read.state).toBe('queued');
    expect(outcome.listed).toContain(outcome.read.id);
    expect(outcome.cancelled).toBe('cancelled');
    expect(outcome.logs).toEqual({ items: [], truncated: false });
    expect(outcome.missing).toEqual({ status: 404, type: '/problems/job-not-found' });
  });
});
