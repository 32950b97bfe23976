/**
 * The README stays true: every setting is in its configuration table, and its commands exist.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configKeys, parseConfig } from '../src/config.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  scripts: Record<string, string>;
  allowScripts: Record<string, boolean>;
};

describe('README', () => {
  it('documents every configuration variable, with its real default', () => {
    const defaults = parseConfig({});
    for (const key of configKeys) {
      const row = readme
        .split('\n')
        .find((line) => line.startsWith(`| \`${key}\``) || line.startsWith(`| \`TLS_CERT\`, \`${key}\``));
      expect(row, `${key} is missing from the configuration table`).toBeDefined();
      const value = defaults[key];
      if (typeof value === 'number') expect(row, `${key}'s default`).toContain(`\`${value}\``);
    }
  });

  it('a number setting is decimal digits: blank, hexadecimal or exponent values are refused, not read as 0, 2 or 100', () => {
    for (const [key, value] of [
      ['RATE_LIMIT_PER_MINUTE', ' '],
      ['MAX_STREAMS_PER_CLIENT', '  '],
      ['API_PROCESSES', '0x2'],
      ['WORKER_CONCURRENCY', '1e2'],
      ['WORKER_MAX_STALLED_COUNT', ' 1'],
    ]) {
      expect(() => parseConfig({ [key as string]: value }), `${key}=${JSON.stringify(value)}`).toThrow(
        new RegExp(`${key}=.*expected a whole number in decimal digits`),
      );
    }
    expect(parseConfig({ RATE_LIMIT_PER_MINUTE: '0', WORKER_CONCURRENCY: '12' })).toMatchObject({
      RATE_LIMIT_PER_MINUTE: 0,
      WORKER_CONCURRENCY: 12,
    });
  });

  it('links every decision record, and only records that exist', () => {
    const records = readdirSync(new URL('../docs/decisions/', import.meta.url)).filter((f) => f.endsWith('.md'));
    const linked = [...readme.matchAll(/\(docs\/decisions\/([^)]+\.md)\)/g)].map((m) => m[1] as string);
    expect([...new Set(linked)].sort()).toEqual(records.sort());
  });

  it('names only npm scripts that exist', () => {
    const named = [...readme.matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1] as string);
    for (const script of new Set(named)) expect(pkg.scripts, `npm run ${script}`).toHaveProperty(script);
    expect(readme).toContain('npm start');
    expect(readme).toContain('npm test');
  });

  it('lets exactly the install scripts it names run, and leaves none unreviewed', () => {
    expect(pkg.allowScripts).toEqual({ esbuild: true, 'msgpackr-extract': true, '@scarf/scarf': false });
    for (const name of Object.keys(pkg.allowScripts)) expect(readme).toContain(name);
    // npm's own read-only check of the installed tree against `allowScripts`.
    const pending = execFileSync('npm', ['approve-scripts', '--allow-scripts-pending'], {
      cwd: new URL('..', import.meta.url),
      encoding: 'utf8',
    });
    expect(pending).toContain('No packages with unreviewed install scripts');
  });
});
