/**
 * A worker process killed with SIGKILL, under the DEFAULT lock settings (WORKER_LOCK_MS 8 s,
 * WORKER_STALLED_INTERVAL_MS 4 s): its job runs again on the other worker within 15 s (at most
 * lock + stalled interval after the kill), and completes; watchers get one `done`.
 * And what keeping that promise costs Redis: the lock renewals and stalled checks of running
 * jobs, measured as commands per running job per second (INFO commandstats, with the same
 * fleet idle as the baseline). The figures are printed and quoted in the README.
 */
import { Redis } from 'ioredis';
import { describe, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { withCleanups } from './support/harness/cleanups.js';
import { waitFor } from './support/harness/harness.js';
import { submitJob } from './support/http/api.js';
import { createFleet, type FleetMember } from './support/processes/fleet.js';
import { startPrivateRedis } from './support/redis/private-redis.js';
import { startMonitor } from './support/redis/redis-monitor.js';
import { allowLeaks } from './support/runner/leak-check.js';
import { RecordingSource } from './support/sse/recording-source.js';

// The two tests wait on timers (a lock running out; a measuring window), each with Redis and
// processes of its own: they run side by side. Each test's own leftovers then cannot be told
// apart from the other's, so the per-test leak check is off; the whole-file check still applies.
allowLeaks('the two tests run side by side (describe.concurrent); each stops what it started');

const defaults = parseConfig({});

const submit = async (url: string, data: Record<string, unknown>) => (await submitJob(url, { data })).id;

/** Calls per command since the last CONFIG RESETSTAT (commands run by scripts included). */
async function commandCalls(redis: Redis): Promise<Map<string, number>> {
  const calls = new Map<string, number>();
  for (const match of (await redis.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    calls.set(match[1] as string, Number(match[2]));
  }
  return calls;
}

describe.concurrent('a worker killed with SIGKILL, default settings', () => {
  it(
    `runs its job again within ${(defaults.WORKER_LOCK_MS + defaults.WORKER_STALLED_INTERVAL_MS) / 1000} s`,
    ({ expect }) =>
      withCleanups(async (cleanups) => {
        const redis = await startPrivateRedis();
        cleanups.push(() => redis.stop());
        const fleet = createFleet({ REDIS_URL: redis.url, SSE_RETRY_MS: '200' });
        cleanups.push(() => fleet.stopAll());
        const [api] = await Promise.all([fleet.api(), fleet.worker(), fleet.worker()]);
        const url = (api as FleetMember).url as string;
        const workers = fleet.members.filter((m) => m.kind === 'worker');
        const monitor = await startMonitor(redis.url);
        cleanups.push(() => monitor.stop());

        // Long enough to be running still when the kill comes; it runs again in full after.
        const id = await submit(url, { steps: 25, stepMs: 100 });
        const watcher = new RecordingSource(`${url}/jobs/${id}/events`);
        cleanups.push(() => watcher.close());
        const pid = await monitor.sender(
          `{${id}}`,
          workers.map((w) => w.pid),
          15_000,
        );
        await watcher.until((s) => s.events.some((e) => Number(e.data.progress) > 0), 'the job running');
        monitor.stop();
        const victim = workers.find((w) => w.pid === pid) as FleetMember;

        const killedAt = Date.now();
        await victim.kill9();
        await watcher.until(
          (s) => s.events.some((e) => e.at >= killedAt && e.data.state === 'active' && Number(e.data.attempt) === 2),
          'the second attempt',
          30_000,
        );
        const rerunMs =
          (watcher.events.find((e) => e.at >= killedAt && Number(e.data.attempt) === 2)?.at ?? 0) - killedAt;
        await watcher.until((s) => s.events.some((e) => e.type === 'done'), 'done', 20_000);
        const doneMs = (watcher.events.find((e) => e.type === 'done')?.at ?? 0) - killedAt;
        console.log(
          `[worker-death] kill -9 with WORKER_LOCK_MS ${defaults.WORKER_LOCK_MS}, WORKER_STALLED_INTERVAL_MS ${defaults.WORKER_STALLED_INTERVAL_MS}: ` +
            `re-run started ${rerunMs} ms after the kill, done ${doneMs} ms after`,
        );
        expect(watcher.events.filter((e) => e.type === 'done')).toHaveLength(1);
        expect(watcher.events.find((e) => e.type === 'done')?.data).toMatchObject({ status: 'completed' });
        expect(rerunMs).toBeLessThanOrEqual(15_000);
      }),
    150_000,
  );
});

describe.concurrent('the Redis cost of keeping running jobs recoverable', () => {
  it(
    'lock renewals and stalled checks, per running job per second',
    ({ expect }) =>
      withCleanups(async (cleanups) => {
        const N = 40;
        const windowMs = defaults.WORKER_LOCK_MS;
        // Two identical fleets, each on a redis-server of its own: one stays idle (the baseline),
        // the other runs the jobs, and both are measured over the same window.
        const startFleet = async () => {
          const redis = await startPrivateRedis();
          cleanups.push(() => redis.stop());
          // The background reconciler is left out of this measure (it is a cost per unfinished job
          // of the API, bounded per tick; see the README); everything else runs with its defaults.
          const fleet = createFleet({ REDIS_URL: redis.url, RECONCILE_INTERVAL_MS: '3600000' });
          cleanups.push(() => fleet.stopAll());
          const [api] = await Promise.all([fleet.api(), fleet.worker({ WORKER_CONCURRENCY: String(N) })]);
          const stats = new Redis(redis.url);
          cleanups.push(() => void stats.disconnect());
          return { url: (api as FleetMember).url as string, stats };
        };
        const [idleFleet, busyFleet] = await Promise.all([startFleet(), startFleet()]);
        const url = busyFleet.url;

        const measure = async (stats: Redis) => {
          await stats.config('RESETSTAT');
          const started = Date.now();
          await new Promise((resolve) => setTimeout(resolve, windowMs));
          const calls = await commandCalls(stats);
          const seconds = (Date.now() - started) / 1000;
          // The measuring connection's own commands do not count.
          calls.delete('config');
          calls.delete('info');
          return { calls, seconds };
        };
        // N jobs that report once and then sleep: all that touches Redis for them is keeping them.
        const ids = await Promise.all(Array.from({ length: N }, () => submit(url, { steps: 1, stepMs: 60_000 })));
        await waitFor(
          async () => {
            const states = await Promise.all(
              ids.map(async (id) => ((await (await fetch(`${url}/jobs/${id}`)).json()) as { state: string }).state),
            );
            return states.every((s) => s === 'active');
          },
          'every job running',
          20_000,
        );
        const [idle, busy] = await Promise.all([measure(idleFleet.stats), measure(busyFleet.stats)]);

        const perJob = new Map<string, number>();
        for (const [command, calls] of busy.calls) {
          const extra = calls / busy.seconds - (idle.calls.get(command) ?? 0) / idle.seconds;
          if (extra / N > 0.001) perJob.set(command, extra / N);
        }
        const total = [...perJob.values()].reduce((a, b) => a + b, 0);
        const breakdown = [...perJob.entries()]
          .sort((a, b) => b[1] - a[1])
          .map(([command, rate]) => `${command} ${rate.toFixed(3)}`)
          .join(', ');
        console.log(
          `[worker-death] Redis cost per running job (${N} jobs, ${busy.seconds.toFixed(1)} s window, idle fleet subtracted): ` +
            `${total.toFixed(2)} commands/s (script calls and the commands they run): ${breakdown}`,
        );
        // Renewing a lock every half lock period and checking for stalls every interval: a few
        // commands per job every few seconds, not a poll per job.
        expect(total).toBeGreaterThan(0);
        expect(total).toBeLessThan(2);
      }),
    150_000,
  );
});
