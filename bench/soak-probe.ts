/**
 * @module bench/soak-probe
 * Where the soak's memory goes, stream count by stream count: `node --import tsx
 * bench/soak-probe.ts [checkpoints] [low-memory|plain]` (default `2000,10000,25000,50000`,
 * `low-memory`). Opens and closes streams on one API process in batches of 1,000, like the
 * soak, and at each checkpoint prints one JSON line: RSS as left and after the gc hook's
 * collection (lib/gc-on-signal.mjs; `plain` is `gc()`, `low-memory` the memory-reducing one),
 * V8's spaces (resident / used, MiB) and the process's mappings (/proc/<pid>/smaps) by kind.
 * Tells a plateau (warm-up not over) from growth (a leak), and V8 from malloc. Run it under
 * the heavy lock: `flock /tmp/jobcast-heavy.lock node --import tsx …`.
 */
import { readFileSync } from 'node:fs';
import { MemoryReports, v8ResidentBytes } from './lib/memory-report.js';
import { MiB, settledRss } from './lib/proc.js';
import { Clients, GC_ON_SIGNAL, startApi, startRedis, submitJobs } from './lib/services.js';

const checkpoints = (process.argv[2] ?? '2000,10000,25000,50000').split(',').map(Number);
const gcKind = process.argv[3] === 'plain' ? 'plain' : 'low-memory';

const mib = (bytes: number) => Math.round((bytes / MiB) * 10) / 10;

/**
 * Resident memory by mapping: the node binary, other files, glibc's main arena (`[heap]`), and
 * anonymous mappings by size: V8 takes its regular pages 256 KiB at a time; glibc's thread
 * arenas and V8's large objects are the big ones.
 */
function mappings(pid: number): Record<string, number> {
  const kib: Record<string, number> = {};
  let kind = '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const sizeKib = (Number.parseInt(head[2] as string, 16) - Number.parseInt(head[1] as string, 16)) / 1024;
      const name = head[3] ?? '';
      if (name.startsWith('[')) kind = name;
      else if (name !== '') kind = name.endsWith('/node') ? 'node binary' : 'files';
      else kind = sizeKib === 256 ? 'anon 256K' : sizeKib < 256 ? 'anon <256K' : 'anon >256K';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) kib[kind] = (kib[kind] ?? 0) + Number(rss[1]);
  }
  return Object.fromEntries(Object.entries(kib).flatMap(([k, v]) => (v >= 1024 ? [[k, mib(v * 1024)]] : [])));
}

const reports = new MemoryReports('soak-probe');
const redis = await startRedis();
const api = await startApi(redis.url, {
  nodeArgs: GC_ON_SIGNAL,
  env: reports.env(gcKind),
});
const clients = new Clients(2);
try {
  const ids = await submitJobs(api.url, 100, { steps: 10, stepMs: 200 });
  const paths = ids.map((id) => `/jobs/${id}/events`);
  const read = async (streams: number) => {
    const asLeft = await settledRss(api.pid);
    const collected = await settledRss(api.pid, true);
    const report = reports.read();
    const space = (name: string) => {
      const s = report.spaces[name];
      return s ? `${mib(s.physical)} / ${mib(s.used)}` : '-';
    };
    const v8Resident = v8ResidentBytes(report);
    const line = {
      streams,
      rssAsLeft: mib(asLeft * MiB),
      rssCollected: mib(collected * MiB),
      v8Resident: mib(v8Resident),
      heapUsed: mib(report.usage.heapUsed),
      external: mib(report.usage.external),
      young: space('new_space'),
      old: space('old_space'),
      code: space('code_space'),
      large: space('large_object_space'),
      mappings: mappings(api.pid),
    };
    console.log(JSON.stringify(line));
  };
  let done = 0;
  await read(0);
  for (const streams of checkpoints) {
    await clients.soak(api.port, paths, streams - done, 1000);
    done = streams;
    await read(streams);
  }
} finally {
  await clients.stop();
  await api.stop();
  await redis.stop();
  reports.remove();
}
