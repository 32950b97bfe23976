/**
 * Redis frozen and Redis full, against a real API and worker (default settings, in this
 * process: what fails is Redis, not a process) and a redis-server of the test's own:
 * - Frozen (SIGSTOP): /readyz turns 503 within 2 s and every Redis-backed request answers 503
 *   within 3 s instead of hanging; an open stream stays open, and after SIGCONT it carries on
 *   to its one `done`; a submission with an Idempotency-Key refused then is taken when retried.
 * - Full (`CONFIG SET maxmemory`, noeviction): submissions are refused with 503 (cancel and
 *   Idempotency-Key submissions too: never a 500), no client sees Redis's text; once the limit
 *   is lifted every accepted job reaches a terminal state — watched or not — that agrees with
 *   BullMQ, and no job's `error` quotes Redis.
 * Each test prints its figures.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, it } from 'vitest';
import { bullPrefix } from '../src/jobs/keys.js';
import { type Cleanups, withCleanups } from './support/harness/cleanups.js';
import { startHarness, waitFor } from './support/harness/harness.js';
import { submitJob } from './support/http/api.js';
import { startPrivateRedis } from './support/redis/private-redis.js';
import { allowLeaks } from './support/runner/leak-check.js';
import { RecordingSource } from './support/sse/recording-source.js';

// The two tests wait on Redis (frozen, then full), each on a redis-server of its own: they run
// side by side (describe.concurrent). Each test's own leftovers then cannot be told apart from
// the other's, so the per-test leak check is off; the whole-file check still applies.
allowLeaks('the two tests run side by side (describe.concurrent); each stops what it started');

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
/** Redis's own words, which must never reach a client. */
const REDIS_TEXT = /OOM|maxmemory|script:|ReplyError|READONLY|LOADING|ECONNREFUSED|Command timed out/;

async function setup(cleanups: Cleanups, env: Record<string, string> = {}) {
  const redis = await startPrivateRedis();
  cleanups.push(() => redis.stop());
  // The API and the worker in this process, on that Redis; its limits off, as a fleet's are.
  const h = await startHarness({
    redisUrl: redis.url,
    env: { SSE_RETRY_MS: '200', WORKER_CONCURRENCY: '20', LOG_LEVEL: 'silent', ...env },
  });
  cleanups.push(() => h.close());
  const admin = new Redis(redis.url);
  cleanups.push(() => void admin.disconnect());
  return { redis, config: h.config, admin, url: h.url };
}

/** A request with its time to answer; never hangs the test (10 s client timeout). */
async function timed(url: string, init: RequestInit = {}) {
  const started = performance.now();
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  return { status: res.status, ms: performance.now() - started, text, headers: res.headers };
}

const post = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

describe.concurrent('Redis frozen (SIGSTOP)', () => {
  it(
    '/readyz 503 within 2 s, requests 503 within 3 s, open streams stay open and resume',
    ({ expect }) =>
      withCleanups(async (cleanups) => {
        const { redis, url } = await setup(cleanups);
        const submitted = await timed(`${url}/jobs`, post({ type: 'simulate', data: { steps: 30, stepMs: 150 } }));
        const { id } = JSON.parse(submitted.text) as { id: string };
        const stream = new RecordingSource(`${url}/jobs/${id}/events`);
        cleanups.push(() => stream.close());
        await stream.until((s) => s.events.some((e) => Number(e.data.progress) > 0), 'the job running', 15_000);

        const pid = redis.server.process.pid as number;
        process.kill(pid, 'SIGSTOP');
        cleanups.push(() => void process.kill(pid, 'SIGCONT'));
        const frozenAt = performance.now();
        const eventsAtFreeze = stream.events.length;

        // /readyz, polled as a load balancer would, turns 503.
        let readyMs = Number.NaN;
        await waitFor(
          async () => {
            const r = await timed(`${url}/readyz`);
            if (r.status !== 503) return false;
            readyMs = performance.now() - frozenAt;
            expect(JSON.parse(r.text)).toMatchObject({ status: 503, reason: 'timeout' });
            return true;
          },
          '/readyz 503',
          8_000,
        );
        // Every Redis-backed request answers, 503, in time.
        const idempotent = post({ type: 'simulate', data: { steps: 1 } }, { 'idempotency-key': `frozen-${id}` });
        const requests = await Promise.all([
          timed(`${url}/jobs`, post({ type: 'simulate', data: { steps: 1 } })),
          timed(`${url}/jobs`, idempotent),
          timed(`${url}/jobs/${id}`),
          timed(`${url}/jobs/${id}/cancel`, { method: 'POST' }),
          timed(`${url}/jobs/${id}/logs`),
          timed(`${url}/jobs/${crypto.randomUUID()}/events`),
        ]);
        // (GET /jobs lists nothing without keys, Redis or not: a 403 before any Redis work.)
        const names = [
          'POST /jobs',
          'POST /jobs with an Idempotency-Key',
          'GET /jobs/{id}',
          'POST cancel',
          'GET logs',
          'GET events',
        ];
        for (const [i, r] of requests.entries()) {
          expect(r.status, `${names[i]}: ${r.text}`).toBe(503);
          expect(r.headers.get('retry-after'), names[i]).toBe('1');
          expect(r.ms, `${names[i]} answered in`).toBeLessThan(3_000);
          expect(r.text, names[i]).not.toMatch(REDIS_TEXT);
        }
        const healthz = await timed(`${url}/healthz`);
        expect(healthz.status).toBe(200);
        // A scrape still answers, in time, with what the process counts itself: the queue's gauges,
        // read from Redis, are left out and jobcast_redis_up says so.
        const scrape = await timed(`${url}/metrics`);
        expect(scrape.status, scrape.text).toBe(200);
        expect(scrape.ms, '/metrics answered in').toBeLessThan(3_000);
        expect(scrape.text).toMatch(/^jobcast_redis_up 0$/m);
        expect(scrape.text).not.toMatch(/^jobcast_queue_jobs\{/m);
        expect(scrape.text).toMatch(/^jobcast_open_streams 1$/m);
        expect(scrape.text).toMatch(/^# TYPE jobcast_redis_reconnects_total counter$/m);
        expect(scrape.text).toMatch(/^jobcast_api_process_cpu_seconds_total \S+$/m);
        // Frozen for 4 s in all: the open stream is still open (no error, no reconnect).
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, 4_000 - (performance.now() - frozenAt))));
        expect(stream.readyState).toBe(1);
        expect(stream.errors).toEqual([]);
        expect(stream.events.length).toBe(eventsAtFreeze);

        process.kill(pid, 'SIGCONT');
        const thawedAt = performance.now();
        await waitFor(async () => (await timed(`${url}/readyz`)).status === 200, '/readyz 200 again', 10_000);
        const readyAgainMs = performance.now() - thawedAt;
        // The 503 said to retry in a second: the retry with the same key is taken, not held off
        // as "in progress" by a claim that ran only once Redis thawed.
        const retried = await timed(`${url}/jobs`, idempotent);
        expect(retried.status, retried.text).toBe(202);
        const thawedScrape = await timed(`${url}/metrics`);
        expect(thawedScrape.text).toMatch(/^jobcast_redis_up 1$/m);
        expect(thawedScrape.text).toMatch(/^jobcast_queue_jobs\{state="active"\} \d+$/m);
        await stream.until((s) => s.events.some((e) => e.type === 'done'), 'done after the thaw', 20_000);
        const dones = stream.events.filter((e) => e.type === 'done');
        expect(dones).toHaveLength(1);
        expect(dones[0]?.data).toMatchObject({ jobId: id, status: 'completed' });
        expect(stream.requests).toHaveLength(1);
        console.log(
          `[outages] Redis frozen: /readyz 503 after ${readyMs.toFixed(0)} ms; requests 503 in ` +
            requests.map((r, i) => `${names[i]} ${r.ms.toFixed(0)} ms`).join(', ') +
            `; /metrics 200 in ${scrape.ms.toFixed(0)} ms` +
            `; the open stream stayed open (1 connection) and got its done; /readyz 200 ${readyAgainMs.toFixed(0)} ms after SIGCONT`,
        );
        expect(readyMs).toBeLessThan(2_000);
      }),
    150_000,
  );
});

describe.concurrent('Redis frozen for longer than WORKER_LOCK_MS, every slot busy', () => {
  it(
    'the runs that lost their locks stop; each job runs once more and completes, its stream never going back to the old run',
    ({ expect }) =>
      withCleanups(async (cleanups) => {
        const N = 4;
        // N slots for N jobs: a stale run that went on would hold its slot to its end.
        const { redis, url } = await setup(cleanups, {
          WORKER_CONCURRENCY: String(N),
          WORKER_LOCK_MS: '2000',
          WORKER_STALLED_INTERVAL_MS: '1000',
        });
        const ids: string[] = [];
        for (let i = 0; i < N; i++) ids.push((await submitJob(url, { data: { steps: 40, stepMs: 250 } })).id);
        const streams = ids.map((id) => {
          const stream = new RecordingSource(`${url}/jobs/${id}/events`);
          cleanups.push(() => stream.close());
          return stream;
        });
        const progressOf = (stream: RecordingSource) => stream.events.filter((e) => e.type === 'progress');
        await waitFor(
          () => streams.every((s) => progressOf(s).some((e) => Number(e.data.progress) > 0)),
          'every job running',
          15_000,
        );
        // The run each job is on when Redis freezes (on a busy machine a job may have stalled and
        // started again before: the run that matters is this one).
        const frozenRun = streams.map((s) => Number(progressOf(s).at(-1)?.data.attempt));
        const seenBefore = streams.map((s) => progressOf(s).length);
        const pid = redis.server.process.pid as number;
        process.kill(pid, 'SIGSTOP');
        cleanups.push(() => void process.kill(pid, 'SIGCONT'));
        // Two and a half locks' worth: every lock expires meanwhile.
        await new Promise((resolve) => setTimeout(resolve, 5_000));
        process.kill(pid, 'SIGCONT');
        const thawedAt = performance.now();
        await waitFor(
          () => streams.every((s) => s.events.some((e) => e.type === 'done')),
          'done on every stream',
          30_000,
        );
        const doneMs = performance.now() - thawedAt;
        const summary: string[] = [];
        let queuedAgain = 0;
        for (const [i, stream] of streams.entries()) {
          const progress = progressOf(stream).map((e) => e.data);
          const trail = JSON.stringify(progress.map((d) => `${d.attempt}:${d.state}:${d.progress}`));
          const what = `job ${i}: ${trail}`;
          expect(
            stream.events.filter((e) => e.type === 'done').map((e) => e.data.status),
            what,
          ).toEqual(['completed']);
          const stale = frozenRun[i] as number;
          // The run that lost its lock stopped: it never got to the end.
          const staleReports = progress.filter((d) => Number(d.attempt) === stale);
          const reached = Math.max(...staleReports.map((d) => Number(d.progress)));
          expect(reached, what).toBeLessThan(100);
          // Once back in the queue (said when the next run does not start first: BullMQ puts a
          // stalled job at the head of the line), the old run says nothing more — the queued
          // state may be restated with its place in the line, under its own id — and the next
          // run says it is one, not the last run's last step.
          const after = progress.slice(seenBefore[i]);
          const requeued = after.findIndex((d) => d.state === 'queued');
          if (requeued >= 0) {
            queuedAgain++;
            expect(after[requeued], what).toMatchObject({
              message: 'returned to the queue: its worker stopped answering',
            });
            expect(
              after.slice(requeued + 1).every((d) => d.state === 'queued' || Number(d.attempt) > stale),
              what,
            ).toBe(true);
          }
          const next = after.findIndex((d) => Number(d.attempt) === stale + 1);
          expect(next, what).toBeGreaterThanOrEqual(0);
          expect(after[next], what).toMatchObject({
            state: 'active',
            progress: 0,
            message: `attempt ${stale + 1} started`,
          });
          expect(
            after.slice(next).every((d) => Number(d.attempt) > stale),
            what,
          ).toBe(true);
          summary.push(`${reached}%`);
        }
        console.log(
          `[outages] Redis frozen 5 s > WORKER_LOCK_MS 2 s with ${N} slots busy: the stale runs stopped at ${summary.join(', ')}; ` +
            `${queuedAgain} of ${N} seen queued again before their re-run began; each re-run once, completed ${doneMs.toFixed(0)} ms after SIGCONT`,
        );
      }),
    120_000,
  );
});

describe.concurrent('Redis out of memory (maxmemory, noeviction), then the limit lifted', () => {
  it(
    'refuses with 503 (never 500, never Redis text), and leaves 0 accepted jobs stuck',
    ({ expect }) =>
      withCleanups(async (cleanups) => {
        const { url, admin, config } = await setup(cleanups, { RECONCILE_INTERVAL_MS: '500' });
        const accepted: string[] = [];
        const statuses: Record<number, number> = {};
        const bodies: string[] = [];
        const submit = async (data: Record<string, unknown>, headers: Record<string, string> = {}) => {
          const r = await timed(`${url}/jobs`, post({ type: 'simulate', data }, headers));
          statuses[r.status] = (statuses[r.status] ?? 0) + 1;
          if (r.status === 202) accepted.push((JSON.parse(r.text) as { id: string }).id);
          else bodies.push(r.text);
          return r;
        };
        // Jobs running and queued when memory runs out.
        for (let i = 0; i < 60; i++) await submit({ steps: 8, stepMs: 100 });

        // Fill: a little headroom, then submissions until Redis refuses them for a while.
        const used = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))?.[1]);
        await admin.config('SET', 'maxmemory', String(used + 256 * 1024));
        const fillStarted = performance.now();
        let refusedInARow = 0;
        while (refusedInARow < 30 && performance.now() - fillStarted < 15_000) {
          const batch = await Promise.all(Array.from({ length: 8 }, () => submit({ steps: 8, stepMs: 100 })));
          for (const r of batch) refusedInARow = r.status === 202 ? 0 : refusedInARow + 1;
        }
        // Then full for good while the rest is checked: cancel and an idempotent submit are 503s too.
        await admin.config('SET', 'maxmemory', '1');
        const running = accepted.at(-1) as string;
        const cancel = await timed(`${url}/jobs/${running}/cancel`, { method: 'POST' });
        const idempotent = await submit({ steps: 1 }, { 'idempotency-key': `oom-${Date.now()}` });
        const batch = await timed(`${url}/jobs/batch`, post({ jobs: [{ type: 'simulate' }, { type: 'simulate' }] }));
        for (const [what, r] of Object.entries({ cancel, idempotent, batch })) {
          expect(r.status, `${what}: ${r.text}`).toBe(503);
          expect(r.headers.get('retry-after'), what).toBe('1');
          expect(r.text, what).not.toMatch(REDIS_TEXT);
        }
        await new Promise((resolve) => setTimeout(resolve, 2_000));
        const fullForMs = performance.now() - fillStarted;

        await admin.config('SET', 'maxmemory', '0');
        const liftedAt = performance.now();
        // Nobody watches these jobs: only the reconciler can finish those whose records missed it.
        const states = new Map<string, Record<string, unknown>>();
        const poll = async () => {
          await Promise.all(
            accepted.map(async (id) => {
              if (TERMINAL.has(String(states.get(id)?.state))) return;
              const r = await timed(`${url}/jobs/${id}`);
              if (r.status === 200) states.set(id, JSON.parse(r.text) as Record<string, unknown>);
            }),
          );
          return accepted.filter((id) => !TERMINAL.has(String(states.get(id)?.state)));
        };
        await waitFor(
          async () => (await poll()).length === 0,
          'every accepted job to reach a terminal state',
          60_000,
        ).catch(() => undefined);
        const stuck = await poll();
        const settledMs = performance.now() - liftedAt;

        // The records agree with BullMQ, and quote no Redis text.
        const queue = new Queue(config.QUEUE_NAME, { connection: admin, prefix: bullPrefix(config.KEY_PREFIX) });
        const disagree: string[] = [];
        const counts: Record<string, number> = {};
        for (const id of accepted) {
          const job = states.get(id) as Record<string, unknown>;
          counts[String(job?.state)] = (counts[String(job?.state)] ?? 0) + 1;
          const bull = await queue.getJobState(id);
          if (
            TERMINAL.has(String(job?.state)) &&
            bull !== job.state &&
            !(bull === 'failed' && job.state === 'cancelled')
          ) {
            disagree.push(`${id}: ${job.state} / BullMQ ${bull}`);
          }
          expect(String(job?.error ?? ''), id).not.toMatch(REDIS_TEXT);
        }
        await queue.close();
        for (const body of bodies) expect(body).not.toMatch(REDIS_TEXT);
        console.log(
          `[outages] Redis full (${fullForMs.toFixed(0)} ms): submissions ${JSON.stringify(statuses)}; ` +
            `cancel ${cancel.status}, Idempotency-Key ${idempotent.status}, batch ${batch.status}; after the limit was lifted: ` +
            `${accepted.length} accepted jobs ${JSON.stringify(counts)}, stuck ${stuck.length}, disagreeing with BullMQ ${disagree.length}, ` +
            `all terminal ${settledMs.toFixed(0)} ms later`,
        );
        expect(statuses[500]).toBeUndefined();
        expect(statuses[503]).toBeGreaterThan(0);
        expect(stuck).toEqual([]);
        expect(disagree).toEqual([]);
      }),
    180_000,
  );
});
