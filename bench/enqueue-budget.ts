/**
 * @module bench/enqueue-budget
 * Where the CPU of an enqueue goes, per job, in every process: the load client, the server
 * (jobcast's API or the minimal endpoint; none for raw BullMQ) and redis-server, with Redis's
 * own account per command and script (INFO commandstats) beside it. The server's main thread
 * is shown apart: one process serves its requests on that one thread, so when it is near a
 * whole core it, not the total, is what limits the rate. For the three sides of the
 * enqueue scenario: raw `queue.add`/`addBulk` from the load process, the minimal node:http
 * endpoint, and jobcast (one build, or several side by side). `node --import tsx
 * bench/enqueue-budget.ts [dist[,dist…]] [rounds] [seconds] [batch]`; run it under the heavy lock (`flock /tmp/jobcast-heavy.lock …`).
 */
import { randomBytes } from 'node:crypto';
import type { EnqueueArgs, EnqueueResult } from './enqueue.js';
import { Child } from './lib/ipc.js';
import { cpuMs, cpuMsByThread } from './lib/proc.js';
import { startApi, startBare, startRedis } from './lib/services.js';

const [dists = 'dist', roundsArg = '3', secondsArg = '5', batchArg = '100'] = process.argv.slice(2);
const rounds = Number(roundsArg);
const durationMs = Number(secondsArg) * 1000;
const batch = Number(batchArg);
const concurrency = batch === 1 ? 32 : 4;

const redis = await startRedis();
const redisPid = redis.process.pid as number;
const apis = await Promise.all(
  dists.split(',').map(async (dist) => ({
    ...(await startApi(redis.url, { dist, prefix: `bud${randomBytes(3).toString('hex')}` })),
    dist,
  })),
);
const bare = await startBare(redis.url, { KEY_PREFIX: 'budbare' });
const load = new Child('enqueue.ts', {}, 'enqueue');

interface Side {
  name: string;
  serverPid: number | undefined;
  args: EnqueueArgs;
}
const base = { concurrency, durationMs, batch };
const sides: Side[] = [
  {
    name: 'raw',
    serverPid: undefined,
    args: { ...base, mode: 'queue', redisUrl: redis.url, prefix: `budraw${randomBytes(3).toString('hex')}` },
  },
  { name: 'minimal', serverPid: bare.pid, args: { ...base, mode: 'http', port: bare.port } },
  ...apis.map((api) => ({
    name: apis.length === 1 ? 'jobcast' : api.dist,
    serverPid: api.pid,
    args: { ...base, mode: 'http' as const, port: api.port },
  })),
];

/** usec per command or script from INFO commandstats, summed by name. */
async function commandUsec(): Promise<Map<string, number>> {
  const info = (await redis.admin.info('commandstats')) as string;
  const out = new Map<string, number>();
  for (const line of info.split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line);
    if (match) out.set(match[1] as string, Number(match[3]));
  }
  return out;
}

const totals = sides.map(() => ({
  count: 0,
  ms: 0,
  load: 0,
  server: 0,
  /** The server's main thread alone: what serialises a single process's requests. */
  serverMain: 0,
  redis: 0,
  commands: new Map<string, number>(),
}));
try {
  for (const side of sides) await load.call<EnqueueResult>('run', side.args);
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < sides.length; k++) {
      const i = (round + k) % sides.length;
      const side = sides[i] as Side;
      await redis.admin.config('RESETSTAT');
      const load0 = cpuMs(load.pid);
      const server0 = side.serverPid ? cpuMsByThread(side.serverPid) : { main: 0, background: 0 };
      const redis0 = cpuMs(redisPid);
      const result = await load.call<EnqueueResult>('run', side.args);
      const total = totals[i] as (typeof totals)[number];
      total.count += result.count;
      total.ms += result.ms + 1000; // the load's 1 s warm-up is inside the CPU window too
      total.load += cpuMs(load.pid) - load0;
      if (side.serverPid) {
        const server1 = cpuMsByThread(side.serverPid);
        total.server += server1.main + server1.background - server0.main - server0.background;
        total.serverMain += server1.main - server0.main;
      }
      total.redis += cpuMs(redisPid) - redis0;
      for (const [name, usec] of await commandUsec()) total.commands.set(name, (total.commands.get(name) ?? 0) + usec);
      console.log(`round ${round + 1} ${side.name}: ${Math.round(result.perSecond)} jobs/s`);
    }
  }
  const perJob = (ms: number, count: number) => ((ms * 1000) / count).toFixed(1);
  console.log(
    '\nside                jobs/s   load µs/job  server µs/job (main thread)  redis µs/job  total  redis busy',
  );
  sides.forEach((side, i) => {
    const t = totals[i] as (typeof totals)[number];
    // Jobs in the warm-up second are not counted, so per-job CPU is a little high for all alike.
    console.log(
      `${side.name.slice(-18).padEnd(18)} ${String(Math.round((t.count / (t.ms - rounds * 1000)) * 1000)).padStart(7)}` +
        `  ${perJob(t.load, t.count).padStart(11)}  ${perJob(t.server, t.count).padStart(13)}` +
        ` ${`(${perJob(t.serverMain, t.count)})`.padStart(13)}` +
        `  ${perJob(t.redis, t.count).padStart(12)}  ${perJob(t.load + t.server + t.redis, t.count).padStart(5)}` +
        `  ${((t.redis / t.ms) * 100).toFixed(0).padStart(9)}%`,
    );
  });
  console.log('\nRedis usec per job by command (INFO commandstats; the scripts include the commands they call):');
  sides.forEach((side, i) => {
    const t = totals[i] as (typeof totals)[number];
    const rows = [...t.commands]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8)
      .map(([name, usec]) => `${name} ${(usec / t.count).toFixed(1)}`);
    console.log(`${side.name}: ${rows.join(', ')}`);
  });
} finally {
  await load.stop();
  for (const api of apis) await api.stop();
  await bare.stop();
  await redis.stop();
}
