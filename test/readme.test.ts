/**
 * The README stays true: every setting is in its configuration table, and its commands exist.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configKeys, parseConfig } from '../src/config.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  scripts: Record<string, string>;
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

  it('names only npm scripts that exist', () => {
    const named = [...readme.matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1] as string);
    for (const script of new Set(named)) expect(pkg.scripts, `npm run ${script}`).toHaveProperty(script);
    expect(readme).toContain('npm start');
    expect(readme).toContain('npm test');
  });
});
