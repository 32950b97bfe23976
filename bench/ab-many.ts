/**
 * @module bench/ab-many
 * Two builds of the API side by side on the "many jobs, 1:1" load (1,000 `simulate` jobs, one
 * stream each, progress from the real worker), for telling a change to the stream path from
 * this machine's noise: `node --import tsx bench/ab-many.ts <distA> <distB> [rounds]`. Each
 * side has its own queue and worker (the worker of `dist/`: the change measured is the API's)
 * and one unmeasured round; then rounds in the order A B, B A, A B, … Reports the API's CPU
 * per delivered event (every thread, from /proc) per round, and the median of B ÷ A
 * (AB_B_NODE_ARGS: Node options for B's API alone, e.g. a V8 flag to try). Run it
 * under the heavy lock: `flock /tmp/jobcast-heavy.lock node --import tsx …`.
 */
import { randomBytes } from 'node:crypto';
import { benchQueue, Clients, startApi, startRedis, startWorker } from './lib/services.js';
import { median } from './lib/stats.js';
import { type JobcastSide, runManyJobcast } from './scenarios/streaming.js';

const [distA = 'dist', distB = 'dist', roundsArg = '6'] = process.argv.slice(2);
const rounds = Number(roundsArg);
const load = { jobs: 1000, steps: 50, stepMs: 200 };

const redis = await startRedis();
const clients = new Clients(2);
const sides = await Promise.all(
  [distA, distB].map(async (dist, i) => {
    const prefix = `ab${randomBytes(3).toString('hex')}`;
    const nodeArgs = i === 1 && process.env.AB_B_NODE_ARGS ? process.env.AB_B_NODE_ARGS.split(' ') : [];
    const api = await startApi(redis.url, { dist, prefix, nodeArgs });
    const worker = await startWorker(redis.url, prefix, 1000);
    const queue = benchQueue(redis.url, prefix);
    // runManyJobcast drives its jobs through the worker: no publisher.
    const side = { api, queue } as unknown as JobcastSide;
    return { name: `${'AB'[i]} ${dist}`, side, worker, queue, perEvent: [] as number[] };
  }),
);
try {
  for (const s of sides) await runManyJobcast(s.side, clients, load);
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? sides : [...sides].reverse();
    for (const s of order) {
      const run = await runManyJobcast(s.side, clients, load);
      s.perEvent.push((run.cpuMs * 1000) / run.delivered);
    }
    console.log(
      `round ${round + 1}: ${sides.map((s) => `${s.name} ${(s.perEvent.at(-1) ?? 0).toFixed(1)} µs/event`).join(' | ')}`,
    );
  }
  const [a, b] = sides as [(typeof sides)[number], (typeof sides)[number]];
  const ratios = b.perEvent.map((us, i) => us / (a.perEvent[i] as number));
  console.log(`B ÷ A, API CPU per delivered event, median of ${rounds} rounds: ${median(ratios).toFixed(3)}`);
  for (const s of sides) console.log(`${s.name}: median ${median(s.perEvent).toFixed(1)} µs/event`);
} finally {
  await clients.stop();
  for (const s of sides) {
    await s.queue.close();
    await s.worker.stop();
    await s.side.api.stop();
  }
  await redis.stop();
}
