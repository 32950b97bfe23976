/**
 * Stoplight Prism (5.14.2, the last release for Node 20) as a validating proxy in front of a
 * live jobcast: `prism proxy --errors` checks every request and response against
 * openapi.yaml and answers an error in place of any response that breaks it. Real event
 * streams — one job's, many jobs' on one connection — pass through it to `done`, and so does
 * the 204 after `done`, along with the REST calls around them.
 *
 * A second Prism, in front of the same server but given the stream schema OpenAPI 3.1 does
 * not allow (`{type: array}`, what openapi.yaml used to say), turns the same stream into a 500:
 * the check is not a no-op.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { openApiDocument, openApiYaml } from '../src/openapi/index.js';
import { parseEventStream } from './support/contract/contract.js';
import { type Harness, startHarness } from './support/harness/harness.js';
import { freePort } from './support/runner/global-setup.js';
import { allowLeaks } from './support/runner/leak-check.js';

const PRISM = fileURLToPath(new URL('../node_modules/@stoplight/prism-cli/dist/index.js', import.meta.url));

interface Prism {
  url: string;
  process: ChildProcess;
  output: () => string;
}

/** Starts `prism proxy --errors <spec> <upstream>` and waits until it listens. */
async function startPrism(spec: string, upstream: string): Promise<Prism> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [PRISM, 'proxy', '--errors', '--host', '127.0.0.1', '--port', String(port), spec, upstream],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const collect = (chunk: Buffer) => {
    output = `${output}${chunk}`.slice(-20_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`prism did not start:\n${output}`)), 60_000);
    const check = () => {
      if (!output.includes('Prism is listening')) return;
      clearTimeout(timer);
      resolve();
    };
    child.stdout?.on('data', check);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`prism exited (${code}):\n${output}`));
    });
  });
  return { url: `http://127.0.0.1:${port}`, process: child, output: () => output };
}

async function stopPrism(prism: Prism | undefined): Promise<void> {
  if (!prism || prism.process.exitCode !== null) return;
  const exited = new Promise((resolve) => prism.process.once('exit', resolve));
  prism.process.kill('SIGTERM');
  await exited;
}

// Prism keeps its connections to the API alive between requests (its pool closes them after ~4 s
// idle): they outlive each test by design, and close with Prism in afterAll (whole-file check).
allowLeaks('Prism pools its connections to the API across tests');

describe('Prism proxy --errors in front of a live jobcast', () => {
  let h: Harness;
  let dir: string;
  let prism: Prism;
  let strictArrays: Prism;

  beforeAll(async () => {
    h = await startHarness();
    dir = mkdtempSync(join(tmpdir(), 'jobcast-prism-'));
    const spec = join(dir, 'openapi.yaml');
    writeFileSync(spec, openApiYaml());
    // The old, invalid stream schema: a 3.2-style list of events under `schema`.
    const old = structuredClone(openApiDocument()) as {
      paths: Record<string, { get: { responses: Record<string, { content: Record<string, { schema: unknown }> }> } }>;
    };
    const media = old.paths['/jobs/{id}/events']?.get.responses['200']?.content['text/event-stream'];
    if (media) media.schema = { type: 'array', items: { type: 'object' } };
    const oldSpec = join(dir, 'old.yaml');
    writeFileSync(oldSpec, stringify(old, { aliasDuplicateObjects: false }));
    [prism, strictArrays] = await Promise.all([startPrism(spec, h.url), startPrism(oldSpec, h.url)]);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([stopPrism(prism), stopPrism(strictArrays)]);
    await h?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const viaPrism = (path: string, init?: RequestInit) => fetch(`${prism.url}${path}`, init);
  const submit = async (data: unknown) => {
    const res = await viaPrism('/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'simulate', data }),
    });
    expect(res.status, prism.output().slice(-2000)).toBe(202);
    return (await res.json()) as { id: string; links: { events: string } };
  };
  /** Reads a stream through Prism to its end (Prism forwards it once the server ended it). */
  const readStream = async (path: string, headers: Record<string, string> = {}) => {
    const res = await viaPrism(path, { headers: { accept: 'text/event-stream', ...headers } });
    const text = await res.text();
    return { res, text, events: parseEventStream(text).filter((item) => 'event' in item) };
  };

  it("passes one job's stream to done, and the 204 after done", async () => {
    const job = await submit({ steps: 3, stepMs: 20 });
    const { res, text, events } = await readStream(job.links.events);
    expect(res.status, text).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(events.map((e) => e.event)).toContain('progress');
    const done = events.at(-1);
    expect(done?.event).toBe('done');
    expect(JSON.parse(String(done?.data))).toMatchObject({ jobId: job.id, status: 'completed' });

    const after = await viaPrism(job.links.events, { headers: { 'last-event-id': String(done?.id) } });
    expect(after.status, await after.clone().text()).toBe(204);
  });

  it('passes a multiplexed stream of two jobs to both dones, and the 204 after them', async () => {
    const jobs = await Promise.all([submit({ steps: 2, stepMs: 20 }), submit({ steps: 3, stepMs: 10 })]);
    const path = `/events?jobs=${jobs.map((j) => j.id).join(',')}`;
    const { res, text, events } = await readStream(path);
    expect(res.status, text).toBe(200);
    const dones = events.filter((e) => e.event === 'done').map((e) => JSON.parse(String(e.data)).jobId);
    expect(dones.sort()).toEqual(jobs.map((j) => j.id).sort());
    const last = events.at(-1);
    expect(String(last?.id)).toMatch(/^\d+\.\d+$/);

    const after = await viaPrism(`${path}&lastEventId=${last?.id}`);
    expect(after.status, await after.clone().text()).toBe(204);
  });

  it('passes the REST calls around them: read, logs, list (403 when open), cancel (409 once finished), 404', async () => {
    const job = await submit({ steps: 1, stepMs: 0 });
    await readStream(job.links.events);
    for (const path of [`/jobs/${job.id}`, `/jobs/${job.id}/logs`]) {
      const res = await viaPrism(path);
      expect(res.status, `${path}: ${await res.clone().text()}`).toBe(200);
    }
    // This service runs open, where nothing lists jobs: the documented 403 passes Prism too.
    // (Listing is documented as needing a key, so Prism wants one before it forwards.)
    const list = await viaPrism('/jobs?limit=5', { headers: { authorization: 'Bearer any-key' } });
    expect(list.status, await list.clone().text()).toBe(403);
    expect(((await list.json()) as { type: string }).type).toBe('/problems/listing-needs-key');
    const cancel = await viaPrism(`/jobs/${job.id}/cancel`, { method: 'POST' });
    expect(cancel.status, await cancel.clone().text()).toBe(409);
    expect(cancel.headers.get('content-type')).toBe('application/problem+json');
    const unknown = await viaPrism(`/jobs/${crypto.randomUUID()}`);
    expect(unknown.status, await unknown.clone().text()).toBe(404);
    expect(((await unknown.json()) as { type: string }).type).toBe('/problems/job-not-found');
  });

  it('with the old `type: array` stream schema, the same stream becomes a 500 (the check bites)', async () => {
    const job = await submit({ steps: 1, stepMs: 0 });
    const res = await fetch(`${strictArrays.url}${job.links.events}`, { headers: { accept: 'text/event-stream' } });
    const text = await res.text();
    expect(res.status, text).toBe(500);
    expect(text).toMatch(/must be array/);
  });
});
