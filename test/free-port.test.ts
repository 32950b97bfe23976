/**
 * `freePort()` (what tests and the bench start their servers on) picks outside the kernel's
 * ephemeral range: a port in it can be taken by any outgoing connection between being found free
 * and being bound, which once cost a full test run its Redis Cluster node.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort } from '../src/local-redis.js';

describe('freePort', () => {
  it('gives ports outside the ephemeral range that can be listened on', async () => {
    const [low = 32_768, high = 60_999] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    for (const port of ports) expect(port < low || port > high, `${port} outside ${low}–${high}`).toBe(true);
    // Each is free: it can be listened on.
    for (const port of ports.slice(0, 5)) {
      const server = createServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => resolve());
      });
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
