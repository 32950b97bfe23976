/**
 * The README's "Adding a job type", followed literally, in temporary directories: its plain
 * JavaScript module (JSON Schema input) runs to done from `JOB_TYPES` with the README's own
 * curl body; its TypeScript module typechecks with `tsc --strict` against the `jobcast` package
 * (`defineJobType`) and, compiled, runs to done; and made built in, in a copy of this
 * repository, it keeps the project's typecheck and formatting green and lands in `openapi.yaml`.
 * TypeScript's compiler runs in this process (test/support/typescript/): the checks are tsc's.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './support/harness/harness.js';
import { call } from './support/http/api.js';
import { repoRoot } from './support/processes/processes.js';
import { watch } from './support/sse/sse.js';
import { compileProject, typecheckChanges } from './support/typescript/typecheck.js';

const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
const section = readme.slice(
  readme.indexOf('## Adding a job type'),
  readme.indexOf('\n## ', readme.indexOf('## Adding a job type') + 1),
);
/** The fenced code blocks of the section in the language `lang`, in order. */
const blocks = (lang: string) =>
  [...section.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, 'g'))].map((m) => m[1] as string);

const [plainModule] = blocks('js') as [string];
const [typedModule, builtInImports, builtInIndex] = blocks('ts') as [string, string, string];
const [shell] = blocks('sh') as [string];
/** The body the README's curl sends. */
const curlBody = JSON.parse(/-d '([^']+)'/.exec(shell)?.[1] as string) as { type: string; data: unknown };

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'jobcast-readme-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function run(file: string, args: string[], cwd: string) {
  try {
    const { stdout, stderr } = await promisify(execFile)(file, args, { cwd, encoding: 'utf8', timeout: 180_000 });
    return { status: 0, output: stdout + stderr };
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    return { status: 1, output: `${stdout ?? ''}${stderr ?? ''}` };
  }
}

/** Runs the README's curl body through a harness that loads `module`, to `done`. */
async function runResize(module: string): Promise<unknown> {
  const h: Harness = await startHarness({ env: { JOB_TYPES: module } });
  try {
    const res = await call(h, 'POST', '/jobs', { body: curlBody });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const events = await watch(`${h.url}${(res.body.links as { events: string }).events}`);
    expect(events.filter((e) => e.type === 'log').map((e) => e.data.line)).toEqual([
      'resizing https://example.com/cat.png to 640px',
    ]);
    return events.at(-1)?.data;
  } finally {
    await h.close();
  }
}

describe("the README's job type", () => {
  it('has the blocks this test follows', () => {
    expect(curlBody.type).toBe('resize');
    expect(typedModule).toContain("import { defineJobType } from 'jobcast';");
    expect(
      typedModule
        .split('\n')
        .slice(0, 2)
        .every((line) => line.startsWith('import ')),
    ).toBe(true);
    expect(builtInImports.trim().split('\n')).toHaveLength(2);
    expect(builtInIndex).toContain('export const builtInJobTypes');
  });

  it('as plain JavaScript with a JSON Schema input, runs to done from JOB_TYPES', async () => {
    const module = join(dir, 'plain', 'job-types.mjs');
    mkdirSync(dirname(module));
    writeFileSync(module, plainModule);
    expect(await runResize(module)).toMatchObject({
      status: 'completed',
      result: { url: 'https://example.com/cat.png?w=640' },
    });
  });

  // Checking zod's types takes seconds of CPU, and many times that on a busy machine.
  it('in TypeScript, passes `tsc --strict` with defineJobType from `jobcast` and, compiled, runs to done', {
    timeout: 120_000,
  }, async () => {
    const project = join(dir, 'typed');
    mkdirSync(join(project, 'node_modules'), { recursive: true });
    // The packages as an installed project would have them: jobcast (this repository) and zod.
    symlinkSync(repoRoot, join(project, 'node_modules', 'jobcast'), 'dir');
    symlinkSync(join(repoRoot, 'node_modules', 'zod'), join(project, 'node_modules', 'zod'), 'dir');
    writeFileSync(join(project, 'package.json'), JSON.stringify({ type: 'module' }));
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { strict: true, module: 'nodenext', target: 'es2022', types: [], outDir: 'out' },
        files: ['job-types.ts'],
      }),
    );
    writeFileSync(join(project, 'job-types.ts'), typedModule);
    // `tsc -p .` in the project.
    expect(compileProject(join(project, 'tsconfig.json'))).toBe('');
    expect(await runResize(join(project, 'out', 'job-types.js'))).toMatchObject({
      status: 'completed',
      result: { url: 'https://example.com/cat.png?w=640' },
    });
  });

  // Typechecking the whole project takes a while on a busy machine.
  it("made built in, in a copy of this repository, keeps the project's typecheck and format green", {
    timeout: 180_000,
  }, async () => {
    const copy = join(dir, 'repo');
    const tracked = (
      await promisify(execFile)('git', ['ls-files', '-co', '--exclude-standard'], { cwd: repoRoot })
    ).stdout
      .split('\n')
      .filter(Boolean);
    for (const file of tracked) {
      try {
        cpSync(join(repoRoot, file), join(copy, file));
      } catch {
        // Deleted in the working tree but still listed.
      }
    }
    symlinkSync(join(repoRoot, 'node_modules'), join(copy, 'node_modules'), 'dir');
    // "save that TypeScript module as src/jobs/builtin/resize.ts with these imports in place of its two"
    const [, , ...body] = typedModule.split('\n');
    writeFileSync(join(copy, 'src/jobs/builtin/resize.ts'), `${builtInImports}${body.join('\n')}`);
    // "list it in src/jobs/builtin/index.ts as below": the README's import, and its entry added to
    // the list as it stands (a type of the reader's own, added before, stays listed).
    expect(builtInIndex).toContain("import resize from './resize.js';");
    expect(builtInIndex).toMatch(/builtInJobTypes = \[simulate, \.\.\.resize\]/);
    const indexFile = join(copy, 'src/jobs/builtin/index.ts');
    const index = readFileSync(indexFile, 'utf8');
    writeFileSync(
      indexFile,
      index
        .replace(
          "import { simulate } from './simulate.js';",
          "import resize from './resize.js';\nimport { simulate } from './simulate.js';",
        )
        .replace(/(export const builtInJobTypes = \[[^\]]*)\]/, '$1, ...resize]'),
    );

    // `tsc --noEmit -p .`, as far as these two files can move it: they and every file that
    // imports them (the rest of the project does not see them; the project is clean without them).
    expect(
      typecheckChanges(join(copy, 'tsconfig.json'), ['src/jobs/builtin/resize.ts', 'src/jobs/builtin/index.ts']),
    ).toBe('');
    const format = await run(join(repoRoot, 'node_modules/.bin/biome'), ['check', 'src/jobs/builtin'], copy);
    expect(format.status, format.output).toBe(0);
    // "and run npm run openapi"
    const openapi = await run('npm', ['run', 'openapi', '--silent'], copy);
    expect(openapi.status, openapi.output).toBe(0);
    expect(readFileSync(join(copy, 'openapi.yaml'), 'utf8')).toContain('SubmitResizeJob:');
  });
});
