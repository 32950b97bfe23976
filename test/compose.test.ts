/**
 * docker-compose.yml and the Dockerfile, checked without a Docker engine: the services, how
 * they are wired, and that every healthcheck probes an endpoint that really answers.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { configKeys, parseConfig } from '../src/config.js';
import { type Harness, startHarness, waitFor } from './support/harness/harness.js';
import { freePort } from './support/runner/global-setup.js';

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  ports?: string[];
  deploy?: unknown;
  volumes?: string[];
}

const compose = parse(readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf8')) as {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
};
const dockerfile = readFileSync(new URL('../Dockerfile', import.meta.url), 'utf8');
const { redis, api, worker } = compose.services as Record<'redis' | 'api' | 'worker', Service>;

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

describe('docker-compose.yml', () => {
  it('has redis, api and worker, and nothing else', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['api', 'redis', 'worker']);
  });

  it('runs redis with append-only persistence, noeviction, a volume and a healthcheck', () => {
    const command = (redis.command ?? []).join(' ');
    expect(command).toContain('--appendonly yes');
    expect(command).toContain('--maxmemory-policy noeviction');
    expect(redis.volumes?.[0]).toMatch(/:\/data$/);
    expect(redis.healthcheck?.test.join(' ')).toContain('redis-cli ping');
  });

  it('wires api and worker to redis by environment, with valid settings only', () => {
    for (const service of [api, worker]) {
      const env = service.environment ?? {};
      expect(env.REDIS_URL).toBe('redis://redis:6379');
      for (const key of Object.keys(env)) expect(configKeys, `${key} is not a jobcast setting`).toContain(key);
      expect(service.depends_on?.redis?.condition).toBe('service_healthy');
      // Replicas: no fixed container name, no host port on the worker.
      expect(service).not.toHaveProperty('container_name');
    }
    expect(api.environment?.HOST).toBe('0.0.0.0');
    expect(worker.ports).toBeUndefined();
    // Compiled JavaScript, as built into the image: no TypeScript at run time.
    expect(api.command).toEqual(['node', 'dist/main.js']);
    expect(worker.command).toEqual(['node', 'dist/worker.js']);
  });

  it("worker's healthcheck probes its metrics port's /healthz, not the API's /readyz the image asks", () => {
    const probe = worker.healthcheck?.test.join(' ') ?? '';
    const [, port, path] = /127\.0\.0\.1:(\d+)(\/[a-z]+)/.exec(probe) ?? [];
    expect(Number(port)).toBe(parseConfig({}).WORKER_METRICS_PORT);
    expect(path).toBe('/healthz');
    expect(worker.environment?.WORKER_METRICS_PORT).toBeUndefined();
  });

  it('a worker process answers that probe: /healthz 200 on its metrics port', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ['dist/worker.js'], {
      env: {
        ...process.env,
        REDIS_URL: h.redisUrl,
        KEY_PREFIX: h.config.KEY_PREFIX,
        WORKER_METRICS_PORT: String(port),
        LOG_LEVEL: 'silent',
      },
      stdio: 'ignore',
    });
    try {
      await waitFor(
        async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.status === 200,
        "the worker's /healthz",
        15_000,
      );
    } finally {
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
    }
  });

  it("api's healthcheck probes an endpoint that answers 200 when ready", async () => {
    const probe = api.healthcheck?.test.join(' ') ?? '';
    const path = /127\.0\.0\.1:3000(\/[a-z]+)/.exec(probe)?.[1];
    expect(path).toBe('/readyz');
    expect((await fetch(`${h.url}${path}`)).status).toBe(200);
  });
});

describe('Dockerfile', () => {
  it('is multi-stage, installs production dependencies only, runs as a non-root user, with a healthcheck', () => {
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/^USER node$/m);
    const health = /^HEALTHCHECK[\s\S]*?CMD (.*)$/m.exec(dockerfile)?.[1] ?? '';
    expect(health).toContain('/readyz');
  });

  it("leaves local state out of the build context: dependencies, npm start's Redis data, builds", () => {
    const ignored = readFileSync(new URL('../.dockerignore', import.meta.url), 'utf8').split('\n');
    for (const path of ['node_modules/', '.data/', 'dist/', '.git/']) expect(ignored).toContain(path);
    // Nothing the Dockerfile copies is left out.
    for (const [, path] of dockerfile.matchAll(/^COPY (?!--from)(?:--chown=\S+ )?(\S+)/gm)) {
      expect(ignored, String(path)).not.toContain(String(path));
      expect(ignored, String(path)).not.toContain(`${path}/`);
    }
  });

  it('builds the service in a stage of its own and runs the compiled JavaScript, not TypeScript', () => {
    expect(dockerfile).toMatch(/^RUN npm run build -- --service$/m);
    expect(dockerfile).toMatch(/^COPY --from=build .*\/app\/dist \.\/dist$/m);
    for (const path of ['package.json', 'package-lock.json']) {
      expect(dockerfile).toMatch(new RegExp(`^COPY .*\\b${path.replace('.', '\\.')}\\b`, 'm'));
    }
    expect(dockerfile).toMatch(/^CMD \["node", "dist\/main\.js"\]$/m);
    expect(dockerfile).not.toMatch(/tsx/);
  });
});
