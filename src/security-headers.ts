/**
 * @module security-headers
 * The security headers jobcast answers with: a set for every answer, and a few more for its
 * HTML pages.
 *
 * Every answer (JSON, problems; event streams write only `nosniff` and their request id)
 * carries what acts on a response as a resource, whatever it is: `nosniff`, framing by other
 * origins refused, cross-origin reads refused unless `CORS_ORIGINS` allows them (CORP), no
 * referrer, its own browsing-context group (COOP), and HSTS over TLS. That holds OWASP's set for
 * REST answers, and is what hono's `secureHeaders` sets minus five.
 *
 * Those five act only on HTML documents, or on browsers and plug-ins long gone (IE 8's
 * download dialog, Flash's cross-domain policies, the removed XSS auditor). The pages (`/`,
 * `/docs`, `/problems`) carry them; JSON answers do not. On `POST /jobs` they cost ~6% of the
 * API's CPU per job (Node validates and writes every header of every answer; decision 023).
 */
import type { AppDeps } from './app.js';

/** The headers of every answer, as name and value. */
export function securityHeadersFor(deps: Pick<AppDeps, 'corsOrigins' | 'tls'>): [string, string][] {
  const headers: [string, string][] = [
    ['cross-origin-resource-policy', deps.corsOrigins.length > 0 ? 'cross-origin' : 'same-origin'],
    ['cross-origin-opener-policy', 'same-origin'],
    ['referrer-policy', 'no-referrer'],
    ['x-content-type-options', 'nosniff'],
    ['x-frame-options', 'SAMEORIGIN'],
  ];
  if (deps.tls) headers.push(['strict-transport-security', 'max-age=15552000; includeSubDomains']);
  return headers;
}

/** What an HTML page carries besides: hono's `secureHeaders` defaults that act on documents only. */
export const DOCUMENT_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'origin-agent-cluster': '?1',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
});
