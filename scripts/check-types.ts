/**
 * @module scripts/check-types
 * Type-checks each of jobcast's type environments and runs the type-aware lint rules on it,
 * building each TypeScript program once for both, with parsed files shared between the programs:
 * all of it costs about what one `tsc --noEmit` over everything did before the environments were
 * split (47 against 44 s of CPU, one after the other on the same busy 2-core VM); without the
 * sharing 65 s, and as separate `tsc` and `eslint` runs about 80 s.
 *
 * The environments: the service (`tsconfig.json`: Node, no DOM), the page (`src/web`: the DOM,
 * no Node), the tests (`test/`: both, for the code they run in a browser page), and the two
 * packages (their `tsc -b` reports their type errors; here they are linted only, after it).
 * The promise rules run on all but the tests.
 *
 * The rules are typescript-eslint's `no-floating-promises` and `no-misused-promises`: Biome's
 * nursery rules of the same names infer types without the compiler and do not see the promises
 * ioredis returns (its command types are conditional), which are most of ours.
 *
 * `node --import tsx scripts/check-types.ts` — type errors and rule findings (`npm run typecheck`);
 * `--rules-only` — the rules alone (`npm run lint`); exits 1 on any finding.
 */
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint, type Linter } from 'eslint';
import ts from 'typescript';
import tseslint from 'typescript-eslint';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const rulesOnly = process.argv.includes('--rules-only');

/**
 * tsconfig files; whether their type errors are reported here, and whether the promise rules run
 * on them. Not on the tests: ~5 s more per run (a fifth of the tests' type check) for code that
 * awaits nearly everything and whose stray promise fails a test anyway.
 */
const ENVIRONMENTS: { project: string; diagnostics: boolean; rules: boolean }[] = [
  { project: 'tsconfig.json', diagnostics: true, rules: true },
  { project: 'src/web/tsconfig.json', diagnostics: true, rules: true },
  { project: 'test/tsconfig.json', diagnostics: true, rules: false },
  { project: 'packages/client/tsconfig.json', diagnostics: false, rules: true },
  { project: 'packages/react/tsconfig.json', diagnostics: false, rules: true },
];

const RULES: Linter.RulesRecord = {
  '@typescript-eslint/no-floating-promises': 'error',
  '@typescript-eslint/no-misused-promises': 'error',
};

/**
 * Parsed (and bound) files, shared by the programs as TypeScript's language service shares them:
 * the service's sources, the lib files and the declarations in node_modules are read once, not
 * once per environment.
 */
const sourceFiles = new Map<string, ts.SourceFile>();

function buildProgram(project: string): ts.Program {
  const parsed = ts.getParsedCommandLineOfConfigFile(join(root, project), undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    },
  });
  if (!parsed) throw new Error(`cannot read ${project}`);
  const compilerHost = ts.createCompilerHost(parsed.options);
  const read = compilerHost.getSourceFile.bind(compilerHost);
  compilerHost.getSourceFile = (fileName, version, onError, create) => {
    const key = `${fileName}\0${JSON.stringify(version)}`;
    let file = sourceFiles.get(key);
    if (!file) {
      file = read(fileName, version, onError, create);
      if (file) sourceFiles.set(key, file);
    }
    return file;
  };
  return ts.createProgram({
    rootNames: parsed.fileNames,
    options: parsed.options,
    host: compilerHost,
    ...(parsed.projectReferences ? { projectReferences: parsed.projectReferences } : {}),
  });
}

const host: ts.FormatDiagnosticsHost = {
  getCanonicalFileName: (name) => name,
  getCurrentDirectory: () => root,
  getNewLine: () => '\n',
};

/** CPU seconds of this process so far (CHECK_TYPES_TIMINGS=1 prints them per environment). */
const cpuSeconds = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

let failed = false;
for (const { project, diagnostics, rules } of ENVIRONMENTS) {
  if (rulesOnly && !rules) continue;
  const started = performance.now();
  const program = buildProgram(project);
  // The environment's own files (its tsconfig's `include`), not those it imports from another
  // one: the tests' program checks test/ alone, and reads the service's types only where a test
  // uses them (checked in full by the service's own program), so nothing is checked twice.
  const files = program
    .getRootFileNames()
    .filter((file) => /\.(ts|tsx|mts)$/.test(file) && !file.endsWith('.d.ts') && !file.includes('/node_modules/'));
  if (diagnostics && !rulesOnly) {
    const sources = files.map((file) => program.getSourceFile(file)).filter((file) => file !== undefined);
    const found = [
      ...program.getOptionsDiagnostics(),
      ...program.getGlobalDiagnostics(),
      ...sources.flatMap((file) => [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)]),
    ];
    if (found.length > 0) {
      failed = true;
      process.stdout.write(ts.formatDiagnosticsWithColorAndContext(found, host));
    }
  }
  const checkedCpu = process.env.CHECK_TYPES_TIMINGS ? cpuSeconds() : 0;
  if (rules) {
    const eslint = new ESLint({
      cwd: root,
      overrideConfigFile: true,
      overrideConfig: {
        files: ['**/*.ts', '**/*.tsx', '**/*.mts'],
        languageOptions: { parser: tseslint.parser, parserOptions: { programs: [program] } },
        plugins: { '@typescript-eslint': tseslint.plugin as NonNullable<Linter.Config['plugins']>[string] },
        rules: RULES,
      },
    });
    const results = await eslint.lintFiles(files.map((file) => relative(root, file)));
    if (results.some((result) => result.errorCount > 0)) {
      failed = true;
      process.stdout.write(await (await eslint.loadFormatter('stylish')).format(results));
    }
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `${project}: ${files.length} files ${[diagnostics && !rulesOnly && 'type-checked', rules && 'linted'].filter(Boolean).join(' and ')} in ${seconds} s`,
  );
  if (process.env.CHECK_TYPES_TIMINGS) {
    console.log(
      `  CPU so far: ${checkedCpu.toFixed(1)} s after the type check, ${cpuSeconds().toFixed(1)} s after the rules`,
    );
  }
}
process.exit(failed ? 1 : 0);
