/**
 * openapi.yaml is generated from the zod schemas (`src/openapi/`), committed, valid OpenAPI
 * 3.1 by two independent checkers, served exactly as committed, and kept by the running API:
 * every route of the app is documented, and live responses match what is documented.
 */
import { existsSync, readFileSync } from 'node:fs';
import { compileErrors, validate } from '@readme/openapi-parser';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type AppDeps, createApp } from '../src/app.js';
import { JobTypeRegistry } from '../src/jobs/registry.js';
import { isJobId, StreamEventNames } from '../src/jobs/schemas.js';
import { openApiDocument, openApiYaml } from '../src/openapi/index.js';
import {
  documentedOperations,
  exercised,
  expectMatchesSpec,
  parseEventStream,
  schemaErrors,
  specValidator,
} from './support/contract/contract.js';
import { type Harness, startHarness } from './support/harness/harness.js';
import { bearer, KEY_A, startKeyedHarness, submitAs } from './support/http/security.js';
import { readStreamUntil } from './support/sse/sse.js';

type Json = Record<string, unknown>;

const COMMITTED = new URL('../openapi.yaml', import.meta.url);
const doc = openApiDocument() as {
  paths: Record<string, Record<string, Json>>;
  components: { schemas: Record<string, Json>; responses: Record<string, Json> };
};

describe('openapi.yaml', () => {
  it('is what src/openapi/ generates (run `npm run openapi` after changing a schema or route)', () => {
    const committed = existsSync(COMMITTED) ? readFileSync(COMMITTED, 'utf8') : '';
    const generated = openApiYaml();
    if (committed !== generated) {
      const a = committed.split('\n');
      const b = generated.split('\n');
      const line = a.findIndex((text, i) => text !== b[i]);
      const at = line === -1 ? a.length : line;
      expect.fail(
        `openapi.yaml is stale: run \`npm run openapi\` and commit it.\n` +
          `first difference at line ${at + 1}:\n  committed: ${a[at] ?? '(end)'}\n  generated: ${b[at] ?? '(end)'}`,
      );
    }
  });

  it('is valid OpenAPI 3.1 (@readme/openapi-parser: the 3.1 schema and its semantic rules)', async () => {
    const result = await validate(structuredClone(openApiDocument()) as never);
    expect(result.valid, result.valid ? '' : compileErrors(result)).toBe(true);
    expect(result.warnings).toEqual([]);

    // The validator is not a no-op: a path parameter left undeclared is caught.
    const broken = structuredClone(openApiDocument()) as typeof doc;
    delete (broken.paths['/jobs/{id}'] as Record<string, Json>).get?.parameters;
    expect((await validate(broken as never)).valid).toBe(false);
  });

  it("passes Redocly's `recommended` ruleset with no errors, and only the warnings explained here", async () => {
    const config = await createConfig({ extends: ['recommended'] });
    const problems = await lintFromString({ source: openApiYaml(), absoluteRef: COMMITTED.pathname, config });
    const found = problems.map((p) => `${p.severity} ${p.ruleId} ${p.location[0]?.pointer ?? ''}: ${p.message}`);
    expect(found.filter((p) => p.startsWith('error'))).toEqual([]);
    const accepted = [
      // jobcast is private and package.json names no license; `info.license` follows it when it does.
      'warn info-license #/info',
      // The event `data` schemas are used from each stream's `x-sse-events`, an extension
      // Redocly does not follow (OpenAPI 3.1 has no standard place for them: src/openapi/streams.ts).
      ...StreamEventNames.map(
        (name) => `warn no-unused-components #/components/schemas/${name[0]?.toUpperCase()}${name.slice(1)}Event`,
      ),
      // The page, the docs and the probes cannot fail with a 4xx: inventing one would make the contract lie.
      ...Object.entries(doc.paths)
        .filter(([, item]) => ['web', 'docs', 'health'].includes((item.get?.tags as string[] | undefined)?.[0] ?? ''))
        .map(([path]) => `warn operation-4xx-response #/paths/${path.replaceAll('/', '~1')}/get/responses`),
    ];
    expect(found.filter((p) => !accepted.some((a) => p.startsWith(`${a}:`)))).toEqual([]);
  });

  it('has component schemas that compile as strict JSON Schema 2020-12 (ajv)', () => {
    for (const name of Object.keys(doc.components.schemas)) {
      expect(() => specValidator(`#/components/schemas/${name}`), name).not.toThrow();
    }
  });

  it('describes a job id as the API takes one: lower case (an upper-case UUID is no job id there)', async () => {
    const pattern = new RegExp(String((doc.components.schemas.JobId as { pattern?: string }).pattern));
    const id = crypto.randomUUID();
    expect(pattern.test(id)).toBe(true);
    expect(pattern.test(id.toUpperCase())).toBe(false);
    expect(isJobId(id)).toBe(true);
    expect(isJobId(id.toUpperCase())).toBe(false);
  });

  it('documents every registered job type as a POST /jobs body, and every stream event', () => {
    const submit = doc.components.schemas.SubmitJob as { oneOf: { $ref: string }[]; discriminator: Json };
    const types = JobTypeRegistry.builtIn().names;
    expect(submit.oneOf).toHaveLength(types.length);
    expect(Object.keys((submit.discriminator as { mapping: Json }).mapping)).toEqual(types);
    for (const path of ['/jobs/{id}/events', '/events']) {
      const responses = doc.paths[path]?.get?.responses as
        | Record<string, { content: Record<string, Json> }>
        | undefined;
      const media = responses?.['200']?.content['text/event-stream'] ?? {};
      expect(Object.keys(media['x-sse-events'] ?? {}), path).toEqual([...StreamEventNames]);
      // In OpenAPI 3.1 `schema` is the whole body, which is text; `itemSchema` is 3.2 only.
      expect(media.schema, path).toEqual({ type: 'string', description: expect.any(String) });
      expect(JSON.stringify(media), path).not.toContain('itemSchema');
    }
  });

  it('describes request bodies as the API takes them: no `default` (it reads as "always present")', () => {
    const requestSchemas = ['JobOptions', 'StreamTokenRequest', 'SubmitJob', 'SubmitJobBatch'].concat(
      Object.keys(doc.components.schemas).filter((name) => /^Submit.+Job$/.test(name)),
    );
    for (const name of requestSchemas) {
      expect(JSON.stringify(doc.components.schemas[name]), name).not.toContain('"default"');
    }
    const steps = JSON.stringify(doc.components.schemas.SubmitSimulateJob);
    expect(steps).toContain('Default: `10`.');
  });

  it('gives every operation an id, summary and tag, and every error a shared problem response', () => {
    const ids = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const where = `${method.toUpperCase()} ${path}`;
        expect(op.operationId, where).toEqual(expect.any(String));
        expect(ids.has(op.operationId as string), `${where}: duplicate operationId`).toBe(false);
        ids.add(op.operationId as string);
        expect(op.summary, where).toEqual(expect.any(String));
        expect(op.tags, where).toHaveLength(1);
        for (const [status, response] of Object.entries(op.responses as Record<string, Json>)) {
          if (Number(status) < 400) continue;
          expect(response.$ref, `${where} ${status}`).toMatch(/^#\/components\/responses\//);
          const shared = doc.components.responses[(response.$ref as string).split('/').pop() as string] as Json;
          expect(shared.content, `${where} ${status}`).toEqual({
            'application/problem+json': expect.objectContaining({ schema: { $ref: '#/components/schemas/Problem' } }),
          });
        }
      }
    }
  });

  it('documents every route the app has, and nothing it does not have', () => {
    // Registering routes reads only these of the dependencies.
    const app = createApp({ corsOrigins: [], maxBodyBytes: 1024 } as unknown as AppDeps);
    const routed = new Set(
      app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`),
    );
    const documented = new Set(documentedOperations());
    const undocumented = [...routed].filter((r) => !documented.has(r));
    expect(undocumented, 'routes missing from `operations` in src/openapi/').toEqual([]);
    expect(
      [...documented].filter((d) => !routed.has(d)),
      'documented but not routed',
    ).toEqual([]);
  });
});

describe('the running API', () => {
  let h: Harness;
  const MAX_BODY_BYTES = 1024;

  beforeAll(async () => {
    h = await startHarness({ env: { MAX_BODY_BYTES: String(MAX_BODY_BYTES) } });
  });
  afterAll(async () => {
    await h?.close();
  });

  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${h.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
  const submit = (body: unknown, headers?: Record<string, string>) => post('/jobs', JSON.stringify(body), headers);
  const quick = { type: 'simulate', data: { steps: 2, stepMs: 10 } };

  it('serves /openapi.yaml exactly as committed, and /openapi.json as the same document', async () => {
    const yamlRes = await fetch(`${h.url}/openapi.yaml`);
    const yamlText = (await expectMatchesSpec('get', '/openapi.yaml', yamlRes)) as string;
    expect(yamlText).toBe(openApiYaml());
    const jsonRes = await fetch(`${h.url}/openapi.json`);
    const json = await expectMatchesSpec('get', '/openapi.json', jsonRes);
    expect(parse(yamlText)).toEqual(json);
    expect(json).toEqual(openApiDocument());
  });

  it('serves the interactive reference at /docs with its own assets (no CDN)', async () => {
    const page = await fetch(`${h.url}/docs`);
    const html = (await expectMatchesSpec('get', '/docs', page)) as string;
    expect(html).toContain('/docs/swagger-ui-bundle.js');
    expect(html).not.toMatch(/https?:\/\//);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    for (const asset of ['swagger-ui.css', 'swagger-ui-bundle.js', 'init.js', 'problems.css']) {
      const res = await fetch(`${h.url}/docs/${asset}`);
      await expectMatchesSpec('get', '/docs/{asset}', res);
    }
    expect((await fetch(`${h.url}/docs/nope.js`)).status).toBe(404);
  });

  it('answers every problem type URI with its page, and lists them all at /problems', async () => {
    await expectMatchesSpec('get', '/problems', await fetch(`${h.url}/problems`));
    for (const type of ['job-not-found', 'validation-failed']) {
      await expectMatchesSpec('get', '/problems/{type}', await fetch(`${h.url}/problems/${type}`));
    }
    const unknown = await fetch(`${h.url}/problems/no-such-problem`);
    expect(unknown.status).toBe(404);
    await expectMatchesSpec('get', '/problems/{type}', unknown);
  });

  it('submit: 202, and the problems 400, 413, 415 and 422', async () => {
    const accepted = await submit(quick);
    expect(accepted.status).toBe(202);
    await expectMatchesSpec('post', '/jobs', accepted);

    const malformed = await post('/jobs', '{"type":');
    expect(malformed.status).toBe(400);
    await expectMatchesSpec('post', '/jobs', malformed);

    const badKey = await submit(quick, { 'idempotency-key': 'has spaces' });
    expect(badKey.status).toBe(400);
    await expectMatchesSpec('post', '/jobs', badKey);

    const tooLarge = await submit({ type: 'simulate', data: { pad: 'x'.repeat(MAX_BODY_BYTES * 2) } });
    expect(tooLarge.status).toBe(413);
    await expectMatchesSpec('post', '/jobs', tooLarge);

    const wrongType = await post('/jobs', JSON.stringify(quick), { 'content-type': 'text/plain' });
    expect(wrongType.status).toBe(415);
    await expectMatchesSpec('post', '/jobs', wrongType);

    for (const invalid of [{ type: 'simulate', data: { steps: 0 } }, { type: 'no-such-type' }]) {
      const res = await submit(invalid);
      expect(res.status, JSON.stringify(invalid)).toBe(422);
      await expectMatchesSpec('post', '/jobs', res);
    }
  });

  it('submit with an Idempotency-Key: the replay and the reused-key problem', async () => {
    const key = `contract-${Date.now()}`;
    expect((await submit(quick, { 'idempotency-key': key })).status).toBe(202);
    const replay = await submit(quick, { 'idempotency-key': key });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    await expectMatchesSpec('post', '/jobs', replay);
    const reused = await submit({ ...quick, data: { steps: 3, stepMs: 10 } }, { 'idempotency-key': key });
    expect(reused.status).toBe(422);
    await expectMatchesSpec('post', '/jobs', reused);
  });

  it('the documented body schema accepts exactly what the API accepts', async () => {
    const bodies: [unknown, boolean][] = [
      [{ type: 'simulate', data: { stepMs: 0 } }, true],
      [{ type: 'simulate', data: { steps: 1, stepMs: 0 }, options: { attempts: 2, priority: 1 } }, true],
      [{ type: 'simulate', data: { steps: 0 } }, false],
      [{ type: 'simulate', data: { steps: 1, stepMs: 0, extra: true } }, false],
      [{ type: 'simulate', options: { attempts: 0 } }, false],
      [{ type: 'simulate', unknown: 1 }, false],
      [{ type: 'no-such-type', data: {} }, false],
      [{}, false],
    ];
    for (const [body, valid] of bodies) {
      expect(schemaErrors('#/components/schemas/SubmitJob', body).length === 0, JSON.stringify(body)).toBe(valid);
      const res = await submit(body);
      expect(res.status, JSON.stringify(body)).toBe(valid ? 202 : 422);
    }
  });

  it('batch: 202 (and its replay), 422 listing every job, and the documented body schema accepts what the API accepts', async () => {
    const key = `contract-batch-${Date.now()}`;
    const body = JSON.stringify({ jobs: [quick, { ...quick, options: { priority: 2 } }] });
    const accepted = await post('/jobs/batch', body, { 'idempotency-key': key });
    expect(accepted.status).toBe(202);
    await expectMatchesSpec('post', '/jobs/batch', accepted);
    const replay = await post('/jobs/batch', body, { 'idempotency-key': key });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    await expectMatchesSpec('post', '/jobs/batch', replay);
    const bodies: [unknown, boolean][] = [
      [{ jobs: [quick] }, true],
      [{ jobs: [] }, false],
      [{ jobs: [quick, { type: 'simulate', data: { steps: 0 } }] }, false],
      [{ jobs: [{ type: 'no-such-type' }] }, false],
      [{ jobs: [quick], extra: 1 }, false],
      [quick, false],
    ];
    for (const [candidate, valid] of bodies) {
      const what = JSON.stringify(candidate).slice(0, 80);
      expect(schemaErrors('#/components/schemas/SubmitJobBatch', candidate).length === 0, what).toBe(valid);
      const res = await post('/jobs/batch', JSON.stringify(candidate));
      expect(res.status, what).toBe(valid ? 202 : 422);
      await expectMatchesSpec('post', '/jobs/batch', res);
    }
    // Over the limit of 100 (too large a body for this server's MAX_BODY_BYTES; the API's
    // answer is tested in jobs-batch.test.ts).
    expect(schemaErrors('#/components/schemas/SubmitJobBatch', { jobs: Array(101).fill(quick) })).not.toEqual([]);
  });

  it('read, logs, webhook deliveries: 200; unknown job: 404; list without keys: 403', async () => {
    const job = (await (await submit(quick)).json()) as { id: string };
    await expectMatchesSpec('get', '/jobs/{id}', await fetch(`${h.url}/jobs/${job.id}`));
    await expectMatchesSpec('get', '/jobs/{id}/logs', await fetch(`${h.url}/jobs/${job.id}/logs`));
    await expectMatchesSpec('get', '/jobs/{id}/webhooks', await fetch(`${h.url}/jobs/${job.id}/webhooks`));

    const unknown = crypto.randomUUID();
    for (const path of ['/jobs/{id}', '/jobs/{id}/logs', '/jobs/{id}/webhooks', '/jobs/{id}/events']) {
      const res = await fetch(`${h.url}${path.replace('{id}', unknown)}`);
      expect(res.status, path).toBe(404);
      await expectMatchesSpec('get', path, res);
    }
    const unlisted = await fetch(`${h.url}/jobs?limit=2&state=queued`);
    expect(unlisted.status).toBe(403);
    await expectMatchesSpec('get', '/jobs', unlisted);
  });

  it('list with a key: 200; bad list query: 400', async () => {
    const keyed = await startKeyedHarness({}, { worker: false });
    try {
      await submitAs(keyed.url, KEY_A);
      const page = await fetch(`${keyed.url}/jobs?limit=2&state=queued`, { headers: bearer(KEY_A) });
      expect(page.status).toBe(200);
      await expectMatchesSpec('get', '/jobs', page);
      const badQuery = await fetch(`${keyed.url}/jobs?limit=0`, { headers: bearer(KEY_A) });
      expect(badQuery.status).toBe(400);
      await expectMatchesSpec('get', '/jobs', badQuery);
    } finally {
      await keyed.close();
    }
  });

  it('cancel: 202 for a queued job, 409 once it finished', async () => {
    const job = (await (await submit({ ...quick, options: { delayMs: 60_000 } })).json()) as { id: string };
    const cancelled = await post(`/jobs/${job.id}/cancel`, '');
    expect(cancelled.status).toBe(202);
    await expectMatchesSpec('post', '/jobs/{id}/cancel', cancelled);
    const again = await post(`/jobs/${job.id}/cancel`, '');
    expect(again.status).toBe(409);
    await expectMatchesSpec('post', '/jobs/{id}/cancel', again);
    const unknown = await post(`/jobs/${crypto.randomUUID()}/cancel`, '');
    expect(unknown.status).toBe(404);
    await expectMatchesSpec('post', '/jobs/{id}/cancel', unknown);
  });

  it("a job's event stream: 200 up to done, then 204 when resuming after done", async () => {
    const job = (await (await submit(quick)).json()) as { id: string };
    const res = await fetch(`${h.url}/jobs/${job.id}/events`);
    expect(res.status).toBe(200);
    const items = (await expectMatchesSpec('get', '/jobs/{id}/events', res)) as Json[];
    expect(items.map((i) => i.event ?? 'retry')).toEqual(expect.arrayContaining(['retry', 'progress', 'done']));
    const done = items.at(-1) as Json;
    expect(done.event).toBe('done');

    const after = await fetch(`${h.url}/jobs/${job.id}/events`, { headers: { 'last-event-id': done.id as string } });
    expect(after.status).toBe(204);
    await expectMatchesSpec('get', '/jobs/{id}/events', after);
  });

  it('many jobs on one stream: 200 up to the last done, 204 after it; gone for an unknown one; 400 and 404', async () => {
    const ids = await Promise.all([1, 2].map(async () => ((await (await submit(quick)).json()) as { id: string }).id));
    const res = await fetch(`${h.url}/events?jobs=${ids.join(',')}`);
    expect(res.status).toBe(200);
    const items = (await expectMatchesSpec('get', '/events', res)) as Json[];
    expect(items.filter((i) => i.event === 'done')).toHaveLength(2);
    const last = items.at(-1) as Json;
    expect(last.id).toMatch(/^\d+\.\d+$/);

    const after = await fetch(`${h.url}/events?jobs=${ids.join(',')}&lastEventId=${last.id}`);
    expect(after.status).toBe(204);
    await expectMatchesSpec('get', '/events', after);

    const none = await fetch(`${h.url}/events`);
    expect(none.status).toBe(400);
    await expectMatchesSpec('get', '/events', none);
    // One unknown job among known ones: `gone` for it, the rest as usual.
    const oneUnknown = await fetch(`${h.url}/events?jobs=${ids[0]},${crypto.randomUUID()}`);
    expect(oneUnknown.status).toBe(200);
    const mixed = (await expectMatchesSpec('get', '/events', oneUnknown)) as Json[];
    expect(mixed.map((i) => i.event)).toContain('gone');
    const unknown = await fetch(`${h.url}/events?jobs=${crypto.randomUUID()},${crypto.randomUUID()}`);
    expect(unknown.status).toBe(404);
    await expectMatchesSpec('get', '/events', unknown);
  });

  it('health, readiness and metrics: 200', async () => {
    await expectMatchesSpec('get', '/healthz', await fetch(`${h.url}/healthz`));
    await expectMatchesSpec('get', '/readyz', await fetch(`${h.url}/readyz`));
    await expectMatchesSpec('get', '/metrics', await fetch(`${h.url}/metrics`));
  });

  it('the web page and its files: 200 with an ETag, then 304', async () => {
    for (const path of ['/', '/app.js', '/styles.css']) {
      const res = await fetch(`${h.url}${path}`);
      await expectMatchesSpec('get', path, res);
      const again = await fetch(`${h.url}${path}`, { headers: { 'if-none-match': res.headers.get('etag') ?? '' } });
      expect(again.status, path).toBe(304);
      await expectMatchesSpec('get', path, again);
    }
  });

  it('no feed without API keys: 403', async () => {
    const res = await fetch(`${h.url}/events/feed`);
    expect(res.status).toBe(403);
    await expectMatchesSpec('get', '/events/feed', res);
  });

  it('stream tokens are not issued without API keys: 400', async () => {
    const job = (await (await submit(quick)).json()) as { id: string };
    const res = await post('/events/tokens', JSON.stringify({ jobs: [job.id] }));
    expect(res.status).toBe(400);
    await expectMatchesSpec('post', '/events/tokens', res);
  });

  describe('with API keys', () => {
    let k: Harness;
    const KEY = 'contract-key-0123456789';
    const LIMITED = 'contract-key-limited-0123456789';
    /** Submissions per key per minute; KEY stays under it, LIMITED goes past it. */
    const RATE = 5;
    const as = (key: string) => ({ authorization: `Bearer ${key}` });
    const keyed = (path: string, body: unknown, key = KEY) =>
      fetch(`${k.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...as(key) },
        body: JSON.stringify(body),
      });

    beforeAll(async () => {
      k = await startHarness({ env: { API_KEYS: `${KEY},${LIMITED}`, RATE_LIMIT_PER_MINUTE: String(RATE) } });
    });
    afterAll(async () => {
      await k?.close();
    });

    it('no key: 401; a job of another key: 404', async () => {
      const anonymous = await fetch(`${k.url}/jobs`);
      expect(anonymous.status).toBe(401);
      await expectMatchesSpec('get', '/jobs', anonymous);
      const job = (await (await keyed('/jobs', quick)).json()) as { id: string };
      const other = await fetch(`${k.url}/jobs/${job.id}`, { headers: as(LIMITED) });
      expect(other.status).toBe(404);
      await expectMatchesSpec('get', '/jobs/{id}', other);
    });

    it("a job's events link carries a token: its stream opens without a key", async () => {
      const accepted = await keyed('/jobs', quick);
      const job = (await expectMatchesSpec('post', '/jobs', accepted)) as { links: { events: string } };
      expect(job.links.events).toContain('token=');
      const res = await fetch(`${k.url}${job.links.events}`);
      expect(res.status).toBe(200);
      await expectMatchesSpec('get', '/jobs/{id}/events', res);
      const bad = await fetch(`${k.url}${job.links.events.replace(/token=[^&]+/, 'token=forged.token')}`);
      expect(bad.status).toBe(401);
      await expectMatchesSpec('get', '/jobs/{id}/events', bad);
    });

    it('POST /events/tokens: 201, a token for exactly those jobs (403 for others); 422', async () => {
      const ids = await Promise.all(
        [1, 2].map(async () => ((await (await keyed('/jobs', quick)).json()) as { id: string }).id),
      );
      const issued = await keyed('/events/tokens', { jobs: [ids[0]] });
      expect(issued.status).toBe(201);
      const { token, url } = (await expectMatchesSpec('post', '/events/tokens', issued)) as Record<string, string>;
      const stream = await fetch(`${k.url}${url}`);
      expect(stream.status).toBe(200);
      await expectMatchesSpec('get', '/events', stream);
      const outside = await fetch(`${k.url}/events?jobs=${ids.join(',')}&token=${encodeURIComponent(token ?? '')}`);
      expect(outside.status).toBe(403);
      await expectMatchesSpec('get', '/events', outside);
      const invalid = await keyed('/events/tokens', { jobs: [] });
      expect(invalid.status).toBe(422);
      await expectMatchesSpec('post', '/events/tokens', invalid);
    });

    it("GET /events/feed: 200 with the key's jobs as they come; 400 for a bad filter", async () => {
      const feed = readStreamUntil(`${k.url}/events/feed?type=simulate`, (text) => text.includes('event: done'), {
        headers: as(KEY),
      });
      // The feed is open (its first frame) before the job is submitted.
      await new Promise((resolve) => setTimeout(resolve, 200));
      await keyed('/jobs', quick);
      const { response, text } = await feed;
      expect(response.status).toBe(200);
      const items = (await expectMatchesSpec('get', '/events/feed', response, text)) as Json[];
      expect(items.map((i) => i.event)).toEqual(expect.arrayContaining(['progress', 'done']));
      const bad = await fetch(`${k.url}/events/feed?state=sleeping`, { headers: as(KEY) });
      expect(bad.status).toBe(400);
      await expectMatchesSpec('get', '/events/feed', bad);
    });

    it('past the submission rate: 429 with Retry-After', async () => {
      // Fixed one-minute windows: 2 × RATE + 1 requests put RATE + 1 in one window, even across a boundary.
      let res: Response | undefined;
      for (let i = 0; i < 2 * RATE + 1 && res?.status !== 429; i++) res = await keyed('/jobs', quick, LIMITED);
      expect(res?.status).toBe(429);
      await expectMatchesSpec('post', '/jobs', res as Response);
    });
  });

  it('the contract check itself catches what it should', async () => {
    const problem = (status: number, body: unknown, type = 'application/problem+json') =>
      new Response(JSON.stringify(body), { status, headers: { 'content-type': type } });
    const ok = { type: '/problems/job-not-found', title: 'Job not found', status: 404 };
    await expectMatchesSpec('get', '/jobs/{id}', problem(404, ok));
    // An undocumented status, a wrong content type, a body off the schema, a bad format.
    await expect(expectMatchesSpec('get', '/jobs/{id}', problem(500, { ...ok, status: 500 }))).rejects.toThrow(
      /status not documented/,
    );
    await expect(expectMatchesSpec('get', '/jobs/{id}', problem(404, ok, 'application/json'))).rejects.toThrow(
      /content type/,
    );
    await expect(expectMatchesSpec('get', '/jobs/{id}', problem(404, { title: 'x', status: 404 }))).rejects.toThrow(
      /must have required property 'type'/,
    );
    expect(schemaErrors('#/components/schemas/JobId', 'not-a-uuid')).not.toEqual([]);
    // A stream event whose data is off its schema, and an event name not documented.
    const stream = (text: string) =>
      new Response(text, { status: 200, headers: { 'content-type': 'text/event-stream', ...sseHeaders } });
    const sseHeaders = { 'cache-control': 'no-cache', 'x-accel-buffering': 'no' };
    await expect(
      expectMatchesSpec('get', '/jobs/{id}/events', stream('id: 1\nevent: progress\ndata: {"progress":101}\n\n')),
    ).rejects.toThrow(/progress data/);
    await expect(
      expectMatchesSpec('get', '/jobs/{id}/events', stream('id: 1\nevent: surprise\ndata: {}\n\n')),
    ).rejects.toThrow(/stream item/);
  });

  it('the stream parser used above reads what the contract models', () => {
    expect(parseEventStream('retry: 2000\n\n: ping\n\nid: 1\nevent: progress\ndata: {}\n\n')).toEqual([
      { retry: 2000 },
      { id: '1', event: 'progress', data: '{}' },
    ]);
  });

  it('exercised every documented operation against the live API', () => {
    const seen = new Set([...exercised].map((e) => e.split(' ').slice(0, 2).join(' ')));
    expect(documentedOperations().filter((op) => !seen.has(op))).toEqual([]);
  });
});
