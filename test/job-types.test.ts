/**
 * Job types in your own code: `JOB_TYPES` names an ES module whose default export lists job
 * types `{ name, description?, input, result?, handler }`, with `input` a zod schema or a plain
 * JSON Schema object. The API validates `data` against it (422 with field errors) and documents
 * it; workers validate again and run it — in-process, and as the real API and worker processes.
 * A module that cannot be used stops start-up with one message that says why and where.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { builtInJobTypes } from '../src/jobs/builtin/index.js';
import { loadJobTypes } from '../src/jobs/load.js';
import { JobTypeError } from '../src/jobs/registry.js';
import { type Harness, startHarness } from './support/harness/harness.js';
import { call, expectProblem, recordCount, submitJob } from './support/http/api.js';
import { startApiProcess } from './support/processes/api-process.js';
import { ENTRIES, repoRoot, spawnProcess } from './support/processes/processes.js';
import { startWorkerProcess } from './support/processes/worker-process.js';
import { watch } from './support/sse/sse.js';

/** Plain JavaScript, no imports: what a team can mount into the published image as it is. */
const PLAIN_MODULE = `export default [
  {
    name: 'resize',
    description: 'Resizes an image.',
    input: {
      type: 'object',
      properties: {
        url: { type: 'string', format: 'uri' },
        width: { type: 'integer', minimum: 1, maximum: 8000, default: 640 },
      },
      required: ['url'],
      additionalProperties: false,
    },
    result: { type: 'object', properties: { url: { type: 'string' } }, required: ['url'] },
    async handler({ url, width }, ctx) {
      await ctx.progress(50, 'resizing');
      await ctx.log(\`resized \${url} to \${width}px\`);
      return { url: \`\${url}?w=\${width}\` };
    },
  },
];
`;

/** zod and defineJobType-style code, resolving `zod` from a node_modules beside it. */
const ZOD_MODULE = `import { z } from 'zod';

export default [
  {
    name: 'greet',
    input: z.object({ name: z.string().min(1), times: z.int().min(1).max(5).default(2) }).strict(),
    async handler({ name, times }, ctx) {
      for (let i = 1; i <= times; i++) await ctx.progress((i / times) * 100, \`hello \${name} #\${i}\`);
      return { greeting: \`hello \${name}\`.repeat(times) };
    },
  },
];
`;

let dir: string;
const write = (name: string, text: string) => {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'jobcast-job-types-'));
  // A project of its own outside the repository, with zod installed (linked, to stay offline).
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'), 'dir');
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('a plain .mjs module with a JSON Schema input, in-process', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { JOB_TYPES: write('plain.mjs', PLAIN_MODULE), SSE_RETRY_MS: '100' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('runs a job to done, defaults filled from the JSON Schema, logs and result included', async () => {
    const job = await submitJob(h, { type: 'resize', data: { url: 'https://example.test/cat.png' } });
    const events = await watch(`${h.url}${job.links.events}`);
    expect(events.filter((e) => e.type === 'log').map((e) => e.data.line)).toEqual([
      'resized https://example.test/cat.png to 640px',
    ]);
    expect(events.at(-1)).toMatchObject({
      type: 'done',
      data: { status: 'completed', result: { url: 'https://example.test/cat.png?w=640' } },
    });
  });

  it('answers invalid data with a 422 listing every field, and changes nothing', async () => {
    const before = await recordCount(h);
    const res = await call(h, 'POST', '/jobs', { body: { type: 'resize', data: { width: 0, extra: true } } });
    expectProblem(res, 422);
    const paths = (res.body.errors as { path: string }[]).map((e) => e.path).sort();
    expect(paths).toEqual(['data.extra', 'data.url', 'data.width']);
    expect(await recordCount(h)).toBe(before);
  });

  it('names the loaded types when the type is unknown, built-in ones first', async () => {
    const res = await call(h, 'POST', '/jobs', { body: { type: 'rotate' } });
    expectProblem(res, 422, 'unknown-job-type');
    expect(res.body.knownTypes).toEqual([...builtInJobTypes.map((t) => t.name), 'resize']);
  });

  it('still runs the built-in simulate, which logs a line per step with logSteps', async () => {
    const job = await submitJob(h, { type: 'simulate', data: { steps: 3, stepMs: 1, logSteps: true } });
    const events = await watch(`${h.url}${job.links.events}`);
    expect(events.filter((e) => e.type === 'log').map((e) => e.data.line)).toEqual([
      'step 1 of 3 done after 1 ms',
      'step 2 of 3 done after 2 ms',
      'step 3 of 3 done after 3 ms',
    ]);
    expect(events.at(-1)?.data).toMatchObject({ status: 'completed', result: { steps: 3 } });
    const logs = (await call(h, 'GET', `/jobs/${job.id}/logs`)).body.items as { line: string }[];
    expect(logs.map((l) => l.line)).toHaveLength(3);
  });

  it('documents the loaded type in /openapi.json and /openapi.yaml, with its JSON Schema', async () => {
    const doc = (await call(h, 'GET', '/openapi.json')).body as {
      paths: Record<string, Record<string, { description: string }>>;
      components: { schemas: Record<string, { properties: Record<string, unknown>; description?: string }> };
    };
    expect(doc.paths['/jobs']?.post?.description).toContain('- `resize`: Resizes an image.');
    const body = doc.components.schemas.SubmitResizeJob;
    expect(body?.description).toBe('Resizes an image.');
    expect(body?.properties.data).toMatchObject({
      type: 'object',
      // Request schemas say their defaults in prose (a `default` keyword makes generated
      // clients require the field).
      properties: {
        url: { type: 'string', format: 'uri' },
        width: { type: 'integer', description: expect.stringContaining('Default: `640`') },
      },
      required: ['url'],
    });
    expect(Object.keys(doc.components.schemas.SubmitJob as object)).toContain('oneOf');
    const yaml = await (await fetch(`${h.url}/openapi.yaml`)).text();
    expect(yaml).toContain('SubmitResizeJob:');
  });
});

describe('a module with zod schemas, as the real API and worker processes', () => {
  it('validates on submit and runs to done in a separate worker process', async () => {
    const module = write('zod-types.mjs', ZOD_MODULE);
    const config = parseConfig({ KEY_PREFIX: `t${randomBytes(4).toString('hex')}`, JOB_TYPES: module });
    const api = await startApiProcess({ JOB_TYPES: module, KEY_PREFIX: config.KEY_PREFIX, LOG_LEVEL: 'warn' });
    try {
      const worker = await startWorkerProcess(config, inject('redisUrl'), { env: { JOB_TYPES: module } });
      try {
        const h = { url: api.url } as Harness;
        expectProblem(await call(h, 'POST', '/jobs', { body: { type: 'greet', data: { name: '' } } }), 422);
        const job = await submitJob(h, { type: 'greet', data: { name: 'ada' } });
        const events = await watch(`${api.url}${job.links.events}`);
        expect(events.filter((e) => e.type === 'progress').map((e) => e.data.message)).toContain('hello ada #2');
        expect(events.at(-1)?.data).toMatchObject({ status: 'completed', result: { greeting: 'hello adahello ada' } });
      } finally {
        await worker.stop();
      }
    } finally {
      await api.stop();
    }
  });
});

describe('a module that cannot be used', () => {
  const expectRefused = async (text: string, message: RegExp) => {
    const file = write(`bad-${Math.random().toString(36).slice(2)}.mjs`, text);
    const error = await loadJobTypes(file).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(JobTypeError);
    expect((error as Error).message).toMatch(/^JOB_TYPES=\/.*\.mjs: /);
    expect((error as Error).message).toMatch(message);
  };
  const ok = `{ name: 'ok', input: {}, handler() {} }`;

  it('a syntax error, with its line', () =>
    expectRefused(`export default [\n  ${ok},\n];\n}\n`, /SyntaxError: Unexpected token '\}' at \/.*:4$/));
  it('a job type without a handler', () =>
    expectRefused(`export default [{ name: 'x', input: {} }];`, /job type "x" has no handler/));
  it('a name used twice', () => expectRefused(`export default [${ok}, ${ok}];`, /job type "ok" is defined twice$/));
  it('the name of a built-in type', () =>
    expectRefused(
      `export default [{ name: 'simulate', input: {}, handler() {} }];`,
      /job type "simulate" is defined twice \(it is built in\)/,
    ));
  it('names that differ only in punctuation', () =>
    expectRefused(
      `export default [{ name: 'a-b', input: {}, handler() {} }, { name: 'a_b', input: {}, handler() {} }];`,
      /"a-b" and "a_b" differ only in case or punctuation/,
    ));
  it('no default export, or one that is not a list', async () => {
    await expectRefused(`export const types = [${ok}];`, /no default export/);
    await expectRefused(`export default ${ok};`, /default export must be an array of job types, not an object/);
  });
  it('an input that is neither zod nor JSON Schema, or a JSON Schema zod cannot read', async () => {
    await expectRefused(`export default [{ name: 'x', input: 'text', handler() {} }];`, /input must be a zod schema/);
    await expectRefused(
      `export default [{ name: 'x', input: { type: 'nonsense' }, handler() {} }];`,
      /input is not a JSON Schema jobcast can read/,
    );
  });
  it('a bad name', () =>
    expectRefused(`export default [{ name: 'two words', input: {}, handler() {} }];`, /job type #1 has the name/));
  it('a module that throws, or is missing', async () => {
    await expectRefused(`throw new Error('no database');`, /the module threw while loading: no database/);
    await expect(loadJobTypes(join(dir, 'missing.mjs'))).rejects.toThrow(/missing\.mjs: no such file$/);
  });

  it('stops the API process before it listens, with one line on stderr', async () => {
    const file = write('broken.mjs', `export default [{ name: 'x', input: {} }];\n`);
    const p = spawnProcess(process.execPath, [ENTRIES.api], {
      JOB_TYPES: file,
      REDIS_URL: 'redis://127.0.0.1:1',
      LOG_FORMAT: 'json',
    });
    const exit = await p.exited;
    expect(exit.code).toBe(2);
    expect(p.stderr().trim().split('\n')).toEqual([
      `jobcast: JOB_TYPES=${file}: job type "x" has no handler: handler(input, ctx) must be a function`,
    ]);
  });
});
