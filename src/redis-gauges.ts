/**
 * @module redis-gauges
 * Gauges read from Redis when /metrics is scraped (the job queue's and the webhook queue's
 * counts). A scrape while Redis is down, frozen or full still answers 200 with everything the
 * process counts itself — its Redis reconnects among them, which matter most then: the gauges
 * that could not be read are left out and `jobcast_redis_up` says 0.
 */
import { Gauge, type Registry } from 'prom-client';

/** Counts by label value, as read from Redis (BullMQ's `getJobCounts` returns these). */
type Read = () => Promise<Record<string, number>>;

export class RedisGauges {
  readonly #registry: Registry;
  readonly #reads: { gauge: Gauge<string>; read: Read }[] = [];
  /** This scrape's reads, shared by every gauge of the group; cleared once they settle. */
  #scrape: Promise<boolean> | undefined;

  constructor(registry: Registry) {
    this.#registry = registry;
    const readAll = () => this.#readAll();
    new Gauge({
      name: 'jobcast_redis_up',
      help: 'Whether this scrape read the gauges that live in Redis (1), or Redis did not answer and they are left out (0).',
      registers: [registry],
      // In a cluster: 0 when any API process could not read them.
      aggregator: 'min',
      async collect() {
        this.set((await readAll()) ? 1 : 0);
      },
    });
  }

  /** A gauge of `label` → count, read with `read` on each scrape; one value for the whole cluster. */
  add(config: { name: string; help: string; label: string }, read: Read): void {
    const readAll = () => this.#readAll();
    const gauge = new Gauge({
      name: config.name,
      help: config.help,
      labelNames: [config.label],
      registers: [this.#registry],
      // The same Redis seen from every API process of a cluster: shown once, not summed.
      aggregator: 'first',
      async collect() {
        await readAll();
      },
    });
    this.#reads.push({ gauge, read });
  }

  /**
   * Reads every gauge of the group once per scrape, whichever of them prom-client collects
   * first (it starts them all at once), and says whether all of them were read.
   */
  #readAll(): Promise<boolean> {
    this.#scrape ??= Promise.all(
      this.#reads.map(async ({ gauge, read }) => {
        gauge.reset();
        try {
          for (const [value, count] of Object.entries(await read())) gauge.labels(value).set(count);
          return true;
        } catch {
          return false;
        }
      }),
    )
      .then((read) => read.every(Boolean))
      .finally(() => {
        this.#scrape = undefined;
      });
    return this.#scrape;
  }
}
