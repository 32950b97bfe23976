/**
 * @module webhooks/deliveries
 * The record of a job's deliveries: one entry per delivery (status, attempts, last response
 * code, next attempt) for `GET /jobs/{id}/webhooks`, and counts by outcome on the job's record
 * for the job resource. Kept beside the record, in its hash slot, for as long as the record.
 *
 * Record fields written here (see `webhooks/view`): `whN` deliveries known, `whOk` delivered,
 * `whFail` given up or not sent, `whSup` progress superseded, `whCode` and `whAt` the latest
 * attempt's status code and time, `whOff` why the webhook was disabled (a 410 Gone), `whP` the
 * newest progress tick queued (an older progress delivery is superseded by it). The Lua that
 * writes and reads them is in `webhooks/scripts`.
 */
import { iso } from '../jobs/events.js';
import { jobKeys } from '../jobs/keys.js';
import { bindScript } from '../jobs/script-runner.js';
import type { RedisClient } from '../redis.js';
import { webhookKeys } from './keys.js';
import { type DeliveryStatus, type DeliveryType, MAX_DELIVERIES_LISTED, type WebhookDeliveries } from './schemas.js';
import type { DeliveryListKeys } from './scripts/delivery-keys.js';
import { followRecordTtlScript } from './scripts/follow-record-ttl.js';
import { listDeliveriesScript } from './scripts/list-deliveries.js';
import { type NoteDeliveryInput, noteDeliveryScript } from './scripts/note-delivery.js';

/** A delivery's entry as stored (times in ms). */
export interface DeliveryEntry {
  type: DeliveryType;
  status: DeliveryStatus;
  attempts: number;
  createdAt: number;
  lastAttemptAt?: number;
  lastResponseCode?: number;
  lastError?: string;
  nextAttemptAt?: number;
  deliveredAt?: number;
}

export class DeliveryLog {
  readonly #redis: RedisClient;
  readonly #prefix: string;
  readonly #note;
  readonly #follow;
  readonly #list;

  constructor(redis: RedisClient, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#note = bindScript(redis, noteDeliveryScript);
    this.#follow = bindScript(redis, followRecordTtlScript);
    this.#list = bindScript(redis, listDeliveriesScript);
  }

  #keys(jobId: string): DeliveryListKeys {
    return { record: jobKeys(this.#prefix, jobId).record, ...webhookKeys(this.#prefix, jobId) };
  }

  /**
   * Lists a delivery just queued, unless it is known already; `tick`: a progress delivery's.
   * Answers a `DeliveryNote` (`webhooks/scripts/note-delivery`).
   */
  queued(jobId: string, id: string, entry: DeliveryEntry, tick?: number): Promise<number> {
    return this.#noteEntry(jobId, id, entry, { note: 'new', tick });
  }

  /** Records the outcome of an attempt; `disable` marks the job's webhook disabled (410 Gone). */
  attempted(jobId: string, id: string, entry: DeliveryEntry, disable?: string): Promise<number> {
    return this.#noteEntry(jobId, id, entry, {
      note: 'attempt',
      responseCode: entry.lastResponseCode,
      attemptAt: entry.lastAttemptAt,
      disable,
    });
  }

  /**
   * Records a delivery settled without an attempt (superseded, or the webhook disabled); its
   * entry keeps what the latest attempt told, if there was one.
   */
  unsent(jobId: string, id: string, entry: DeliveryEntry): Promise<number> {
    return this.#noteEntry(jobId, id, entry, { note: 'unsent' });
  }

  /** One run of the note script for `entry` of delivery `id`. */
  #noteEntry(
    jobId: string,
    id: string,
    entry: DeliveryEntry,
    how: Pick<NoteDeliveryInput, 'note' | 'responseCode' | 'attemptAt' | 'disable' | 'tick'>,
  ): Promise<number> {
    return this.#note({
      keys: this.#keys(jobId),
      id,
      entry: JSON.stringify(entry),
      createdAt: entry.createdAt,
      keep: MAX_DELIVERIES_LISTED,
      ...how,
    });
  }

  /**
   * What decides whether a delivery is still to be sent: why the job's webhook was disabled
   * (a 410 Gone), and the newest progress tick queued for it.
   */
  async state(jobId: string): Promise<{ disabled: string | undefined; newestTick: number | undefined }> {
    const [disabled, tick] = await this.#redis.hmget(jobKeys(this.#prefix, jobId).record, 'whOff', 'whP');
    return { disabled: disabled ?? undefined, newestTick: tick ? Number(tick) : undefined };
  }

  /** The delivery list expires with the finished job's record. */
  followRecord(jobId: string): Promise<number> {
    return this.#follow(this.#keys(jobId));
  }

  async list(jobId: string): Promise<WebhookDeliveries> {
    const [ids, entries, known] = await this.#list(this.#keys(jobId));
    const items = ids.flatMap((id, i) => {
      const raw = entries[i];
      if (!raw) return [];
      const e = JSON.parse(raw) as DeliveryEntry;
      return [
        {
          id,
          type: e.type,
          status: e.status,
          attempts: e.attempts,
          createdAt: iso(e.createdAt),
          ...(e.lastAttemptAt === undefined ? {} : { lastAttemptAt: iso(e.lastAttemptAt) }),
          ...(e.lastResponseCode === undefined ? {} : { lastResponseCode: e.lastResponseCode }),
          ...(e.lastError === undefined ? {} : { lastError: e.lastError }),
          ...(e.nextAttemptAt === undefined ? {} : { nextAttemptAt: iso(e.nextAttemptAt) }),
          ...(e.deliveredAt === undefined ? {} : { deliveredAt: iso(e.deliveredAt) }),
        },
      ];
    });
    return { items, truncated: Number(known) > items.length };
  }
}
