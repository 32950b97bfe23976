/**
 * @module webhooks/sweep
 * The repair under "nothing lost": jobs with a webhook stay in the open set until their end
 * is queued (see `webhooks/outbox`). One a process died on before queuing its end is still
 * there; the sweep, run by the workers every WEBHOOK_SWEEP_MS, finds it and queues the end.
 */
import type { RedisClient } from '../redis.js';
import { openWebhooksKey, sweepLockKey } from './keys.js';
import type { WebhookOutbox } from './outbox.js';

/** Jobs one sweep looks at, so a backlog is worked through in bounded steps. */
const SWEEP_BATCH = 500;

/**
 * Looks at open jobs not looked at for a period: queues the end of those that finished and
 * comes back a period later for the others. Workers take turns (a lock held for a period).
 * Returns how many jobs it finished off.
 */
export async function sweepOpenWebhooks(
  redis: RedisClient,
  outbox: WebhookOutbox,
  prefix: string,
  periodMs: number,
): Promise<number> {
  const locked = await redis.set(sweepLockKey(prefix), '1', 'PX', Math.max(1, periodMs - 50), 'NX');
  if (locked !== 'OK') return 0;
  const open = openWebhooksKey(prefix);
  const now = Date.now();
  const ids = await redis.zrangebyscore(open, '-inf', now - periodMs, 'LIMIT', 0, SWEEP_BATCH);
  let repaired = 0;
  for (const id of ids) {
    const outcome = await outbox.finalize(id);
    if (outcome === 'queued') repaired++;
    else if (outcome === 'running') await redis.zadd(open, 'XX', now, id);
    else if (outcome === 'none') await redis.zrem(open, id);
  }
  return repaired;
}
