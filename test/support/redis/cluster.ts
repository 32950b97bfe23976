/**
 * A real Redis Cluster for a test file: three masters (no replicas), each a local
 * `redis-server --cluster-enabled yes` on a free port in a temporary directory, joined by
 * `redis-cli --cluster create`, and ready once every node reports `cluster_state:ok`.
 *
 * @example
 * const cluster = await startRedisCluster();
 * // REDIS_CLUSTER=1 REDIS_URL=cluster.url (one node; ioredis discovers the others)
 * await cluster.stop();
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { type LocalRedis, startLocalRedis } from '../../../src/local-redis.js';
import { waitFor } from '../harness/harness.js';
import { freePort } from '../runner/global-setup.js';

const run = promisify(execFile);

export interface ClusterNode {
  port: number;
  url: string;
  server: LocalRedis;
  /** A plain (non-cluster) connection to this node alone, for DBSIZE, SCAN and CLUSTER commands. */
  redis: Redis;
}

export interface RedisCluster {
  /** One node's URL: what REDIS_URL names under REDIS_CLUSTER=1. */
  url: string;
  nodes: ClusterNode[];
  /** The node serving `slot`. */
  nodeOfSlot(slot: number): Promise<ClusterNode>;
  /** CLUSTER KEYSLOT, asked of the cluster itself. */
  keySlot(key: string): Promise<number>;
  /** Stops every node and removes the directory; safe to call twice. */
  stop(): Promise<void>;
}

export async function startRedisCluster(options: { masters?: number; timeoutMs?: number } = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  const timeoutMs = options.timeoutMs ?? 20_000;
  const dir = mkdtempSync(join(tmpdir(), 'jobcast-test-cluster-'));
  const nodes: ClusterNode[] = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const node of nodes) node.redis.disconnect();
    await Promise.all(nodes.map((node) => node.server.stop()));
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    for (let i = 0; i < masters; i++) {
      const { port, server } = await startNode(dir);
      nodes.push({ port, url: server.url, server, redis: new Redis(port, '127.0.0.1', { lazyConnect: false }) });
    }
    const created = await run(
      'redis-cli',
      ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'],
      { timeout: timeoutMs },
    ).catch((error: Error & { stdout?: string; stderr?: string }) => {
      throw new Error(
        `redis-cli --cluster create failed: ${error.message}\n${error.stdout ?? ''}\n${error.stderr ?? ''}`,
      );
    });
    if (!created.stdout.includes('All 16384 slots covered')) {
      throw new Error(`redis-cli --cluster create did not cover every slot:\n${created.stdout}`);
    }
    // Every node must agree: the slots are assigned and gossip has spread the configuration.
    await waitFor(
      async () => {
        const infos = await Promise.all(nodes.map((n) => n.redis.cluster('INFO') as Promise<string>));
        return infos.every(
          (info) => info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${masters}`),
        );
      },
      `cluster_state:ok on all ${masters} nodes`,
      timeoutMs,
    );
  } catch (error) {
    await stop();
    throw error;
  }

  const first = nodes[0] as ClusterNode;
  return {
    url: first.url,
    nodes,
    async nodeOfSlot(slot) {
      // CLUSTER SLOTS: [[start, end, [host, port, id], …replicas], …]
      const ranges = (await first.redis.cluster('SLOTS')) as unknown as [number, number, [string, number, string]][];
      const range = ranges.find(([start, end]) => slot >= start && slot <= end);
      const node = nodes.find((n) => n.port === range?.[2][1]);
      if (!node) throw new Error(`no node serves slot ${slot}`);
      return node;
    },
    async keySlot(key) {
      return (await first.redis.cluster('KEYSLOT', key)) as number;
    },
    stop,
  };
}

/** Every key on one node matching `pattern` (SCAN, never KEYS). */
export async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

/**
 * One cluster node on two free ports (outside the ephemeral range, so no outgoing connection can
 * take one before redis-server binds it: see `freePort`).
 */
async function startNode(dir: string): Promise<{ port: number; server: LocalRedis }> {
  const port = await freePort();
  // The bus port is given explicitly: Redis's default, port + 10000, may be taken or inside the
  // ephemeral range.
  const busPort = await freePort();
  const server = await startLocalRedis({
    port,
    dir,
    persistence: 'none',
    extraArgs: [
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      `nodes-${port}.conf`,
      '--cluster-port',
      String(busPort),
      // A node that stops answering is noticed quickly (only matters if one dies).
      '--cluster-node-timeout',
      '3000',
    ],
  });
  return { port, server };
}
