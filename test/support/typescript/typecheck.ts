/**
 * @module test/support/typescript/typecheck
 * TypeScript's compiler in the test's own process, for tests whose point is that code
 * typechecks (the README's examples, a program using the installed packages): what `tsc -p`
 * would print, without starting a tsc (and loading the compiler) for each check.
 */
import { dirname, resolve } from 'node:path';
import ts from 'typescript';

/** Diagnostics as `tsc` prints them without `--pretty` (`file(line,col): error TSn: …`); '' when none. */
function format(diagnostics: readonly ts.Diagnostic[], cwd: string): string {
  return ts.formatDiagnostics(diagnostics, {
    getCanonicalFileName: (name) => name,
    getCurrentDirectory: () => cwd,
    getNewLine: () => '\n',
  });
}

function readConfig(tsconfig: string): ts.ParsedCommandLine {
  const config = ts.getParsedCommandLineOfConfigFile(tsconfig, undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(format([diagnostic], dirname(tsconfig)));
    },
  });
  if (!config) throw new Error(`cannot read ${tsconfig}`);
  return config;
}

/**
 * Whether a file of the program is ours to check: the project's sources, and declaration files
 * except TypeScript's own and those of third-party packages in a `node_modules` (as the
 * project's `skipLibCheck` skips them: their diagnostics are their publishers', and the same
 * whatever the project holds). `packages` names installed packages whose declarations are ours.
 */
function isOurs(program: ts.Program, source: ts.SourceFile, packages: string[]): boolean {
  if (!source.isDeclarationFile) return true;
  if (program.isSourceFileDefaultLibrary(source)) return false;
  const installed = /.*\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(source.fileName);
  return !installed || packages.includes(installed[1] as string);
}

/**
 * `tsc -p <tsconfig>` in this process: emits the project as its options say and returns what tsc
 * would print ('' when clean) about the project's files and the declarations of `packages`
 * (installed packages of ours), and about packages linked in from outside a `node_modules`;
 * third-party declaration files are not checked, as with `skipLibCheck`.
 */
export function compileProject(tsconfig: string, packages: string[] = []): string {
  const config = readConfig(tsconfig);
  const program = ts.createProgram({
    rootNames: config.fileNames,
    options: config.options,
    ...(config.projectReferences ? { projectReferences: config.projectReferences } : {}),
  });
  const diagnostics: ts.Diagnostic[] = [
    ...config.errors,
    ...program.getConfigFileParsingDiagnostics(),
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
  ];
  for (const source of program.getSourceFiles()) {
    if (!isOurs(program, source, packages)) continue;
    diagnostics.push(...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source));
    // File by file: emitting the whole program at once would first check every file, the
    // skipped declarations included.
    if (!source.isDeclarationFile) diagnostics.push(...program.emit(source).diagnostics);
  }
  return format(ts.sortAndDeduplicateDiagnostics(diagnostics), dirname(tsconfig));
}

/** The project's own files whose imports lead, directly or not, to one of `changed`. */
function dependents(config: ts.ParsedCommandLine, changed: string[]): Set<string> {
  const importers = new Map<string, string[]>();
  for (const file of config.fileNames) {
    const text = ts.sys.readFile(file) ?? '';
    for (const imported of ts.preProcessFile(text, true, true).importedFiles) {
      const target = ts.resolveModuleName(imported.fileName, file, config.options, ts.sys).resolvedModule;
      if (!target || target.isExternalLibraryImport) continue;
      importers.set(target.resolvedFileName, [...(importers.get(target.resolvedFileName) ?? []), file]);
    }
  }
  const found = new Set(changed);
  const queue = [...changed];
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    for (const importer of importers.get(file) ?? []) {
      if (found.has(importer)) continue;
      found.add(importer);
      queue.push(importer);
    }
  }
  return found;
}

/**
 * `tsc --noEmit -p <tsconfig>` as far as an edit of the module files `changed` can move it:
 * the diagnostics of those files and of every file of the project that imports them, directly
 * or not, with the project's options ('' when none). A file that does not import them is
 * checked against the same declarations before and after the edit, so its diagnostics cannot
 * change — as long as the changed files are modules that declare nothing global (checked: a
 * changed file that is a script or holds `declare global`/`declare module` throws). Checking only
 * these skips the rest of a big project (and its tooling's types).
 */
export function typecheckChanges(tsconfig: string, changed: string[]): string {
  const config = readConfig(tsconfig);
  const root = dirname(tsconfig);
  const changedFiles = changed.map((file) => resolve(root, file));
  const files = dependents(config, changedFiles);
  const program = ts.createProgram({ rootNames: [...files], options: config.options });
  const diagnostics: ts.Diagnostic[] = [
    ...config.errors,
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
  ];
  for (const file of files) {
    const source = program.getSourceFile(file);
    if (!source) throw new Error(`${file} is not in the program`);
    if (changedFiles.includes(file)) {
      // Anything global would reach files that do not import this one.
      if (!ts.isExternalModule(source) || /\bdeclare\s+(global|module)\b/.test(source.text)) {
        throw new Error(`${file} declares globals: every file of the project must be checked`);
      }
    }
    diagnostics.push(...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source));
  }
  return format(ts.sortAndDeduplicateDiagnostics(diagnostics), root);
}
