/**
 * Every response a test receives from a jobcast server over `fetch` is checked against
 * openapi.yaml (status, headers, content type, body), not only in the contract tests: a setup
 * file wraps `fetch`, and a test fails at its end if any response broke the contract.
 *
 * Checked: requests to a server started by `startHarness` (see `contractOrigins`), on a
 * documented path and method. Not checked: event-stream bodies (they are read by the test
 * itself and checked in test/openapi.test.ts), HEAD, and paths the description does not cover.
 */
import { afterEach } from 'vitest';
import { openApiDocument } from '../../../src/openapi/index.js';
import { expectMatchesSpec } from './contract.js';

/** Origins of the servers whose responses are checked; startHarness adds its own. */
export const contractOrigins = new Set<string>();

const violations: string[] = [];

/**
 * The documented path templates, literal ones first: a path is the resource of the most
 * specific template that matches it (`/jobs/batch`, not `/jobs/{id}`), as the app routes it.
 */
const templates = Object.keys(openApiDocument().paths as Record<string, unknown>)
  .map((template) => ({
    template,
    params: template.split('/').map((segment) => segment.startsWith('{')),
    pattern: new RegExp(`^${template.replaceAll('.', '\\.').replace(/\{[^}]+\}/g, '[^/]+')}$`),
  }))
  .sort((a, b) => {
    const differs = a.params.findIndex((param, i) => param !== b.params[i]);
    return differs === -1 ? 0 : a.params[differs] ? 1 : -1;
  });

/** The template of `method pathname`, if it is a documented operation. */
function templateFor(method: string, pathname: string): string | undefined {
  const paths = openApiDocument().paths as Record<string, Record<string, unknown>>;
  const template = templates.find((t) => t.pattern.test(pathname))?.template;
  return template && paths[template]?.[method.toLowerCase()] ? template : undefined;
}

// Test files may share a process (vitest `isolate: false`) and this file runs before each of
// them: wrap the real fetch once per file, never the previous file's wrapper.
const REAL_FETCH = Symbol.for('jobcast.test.realFetch');
const holder = globalThis as unknown as Record<symbol, typeof fetch | undefined>;
holder[REAL_FETCH] ??= globalThis.fetch;
const realFetch = holder[REAL_FETCH];
globalThis.fetch = async (input, init) => {
  const response = await realFetch(input, init);
  try {
    // Not `new Request(input, init)`: a Request whose body was sent cannot be copied.
    const url = new URL(input instanceof Request ? input.url : String(input));
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    if (!contractOrigins.has(url.origin) || method === 'HEAD') return response;
    const template = templateFor(method, url.pathname);
    if (!template) return response;
    if ((response.headers.get('content-type') ?? '').startsWith('text/event-stream')) return response;
    await expectMatchesSpec(method, template, response);
  } catch (error) {
    violations.push(`${String(init?.method ?? 'GET')} ${String(input)}: ${(error as Error).message}`);
  }
  return response;
};

afterEach(() => {
  if (violations.length === 0) return;
  const found = violations.splice(0);
  throw new Error(`responses that break openapi.yaml:\n${found.slice(0, 10).join('\n')}`);
});
