/**
 * @module bench/ab-enqueue
 * Two builds of the API side by side, with the minimal endpoint beside them, for telling a
 * change to the enqueue path from this machine's noise: `node --import tsx bench/ab-enqueue.ts
 * <distA> <distB> [rounds] [seconds] [batch]`. Each side gets one unmeasured round, then
 * rounds in a rotating order (A B bare, B bare A, bare A B, …), so a machine getting busier or
 * quieter evens out. Reports server CPU per job (every thread, from /proc) and jobs/s per round
 * and in all, and the median of B ÷ A over the rounds (AB_NO_MINIMAL=1: A and B only). Run it under the heavy lock: `flock /tmp/jobcast-heavy.lock node --import tsx …`.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { EnqueueArgs, EnqueueResult } from './enqueue.js';
import { Child } from './lib/ipc.js';
import { cpuMs } from './lib/proc.js';
import { startApi, startBare, startRedis } from './lib/services.js';

const [distA = 'dist', distB = 'dist', roundsArg = '4', secondsArg = '4', batchArg = '1'] = process.argv.slice(2);
const rounds = Number(roundsArg);
const durationMs = Number(secondsArg) * 1000;
const batch = Number(batchArg);
const concurrency = batch === 1 ? 32 : 4;

const profile = process.env.AB_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.AB_PROFILE}`] : [];
const redis = await startRedis();
// AB_ENV: more settings for both APIs (`API_KEYS=…&…`); AB_PROFILE: a directory for B's CPU profile.
const env = process.env.AB_ENV ? Object.fromEntries(new URLSearchParams(process.env.AB_ENV)) : {};
const start = (dist: string, nodeArgs: string[] = []) =>
  startApi(redis.url, { dist, nodeArgs, env, prefix: `ab${randomBytes(3).toString('hex')}` });
const sides = [
  { ...(await start(distA)), name: `A ${distA}` },
  { ...(await start(distB, profile)), name: `B ${distB}` },
  ...(batch === 1 && !process.env.AB_NO_MINIMAL
    ? [{ ...(await startBare(redis.url, { KEY_PREFIX: 'abbare' })), name: 'minimal' }]
    : []),
];
const load = new Child('enqueue.ts', {}, 'enqueue');
const totals = sides.map(() => ({ count: 0, ms: 0, cpu: 0 }));
const args = (port: number, ms: number): EnqueueArgs => ({ mode: 'http', port, concurrency, durationMs: ms, batch });
try {
  for (const side of sides) await load.call<EnqueueResult>('run', args(side.port, durationMs));
  // B ÷ A of each round: their median is what a few disturbed rounds cannot move.
  const pairs: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const line: string[] = [];
    const perJob: number[] = [];
    for (let k = 0; k < sides.length; k++) {
      const i = (round + k) % sides.length;
      const side = sides[i] as (typeof sides)[number];
      const cpu0 = cpuMs(side.pid);
      // AB_STRACE: a directory for each side's system call counts (strace -c) of the first round.
      const trace =
        process.env.AB_STRACE && round === 0
          ? spawn('strace', ['-c', '-f', '-p', String(side.pid), '-o', `${process.env.AB_STRACE}/${i}.txt`])
          : undefined;
      const result = await load.call<EnqueueResult>('run', args(side.port, durationMs));
      trace?.kill('SIGINT');
      if (trace) console.log(`${side.name}: ${result.count} jobs traced`);
      // The load's own 1 s warm-up is in the CPU too, alike for every side.
      const cpu = cpuMs(side.pid) - cpu0;
      const total = totals[i] as (typeof totals)[number];
      total.count += result.count;
      total.ms += result.ms;
      total.cpu += cpu;
      perJob[i] = (cpu * 1000) / result.count;
      line.push(
        `${side.name}: ${Math.round((cpu * 1000) / result.count)} µs/job ${Math.round(result.perSecond)}/s` +
          (result.errors ? ` (${result.errors} errors)` : ''),
      );
    }
    console.log(`round ${round + 1}: ${line.join(' | ')}`);
    pairs.push((perJob[1] as number) / (perJob[0] as number));
  }
  pairs.sort((a, b) => a - b);
  console.log(
    `B ÷ A, CPU per job, median of ${rounds} rounds: ${(pairs[Math.floor((rounds - 1) / 2)] ?? 0).toFixed(3)}`,
  );
  sides.forEach((side, i) => {
    const t = totals[i] as (typeof totals)[number];
    console.log(
      `${side.name}: ${((t.cpu * 1000) / t.count).toFixed(1)} µs/job, ${Math.round((t.count / t.ms) * 1000)} jobs/s`,
    );
  });
} finally {
  await load.stop();
  for (const side of sides) await side.stop();
  await redis.stop();
}
