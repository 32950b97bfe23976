/**
 * @module webhooks/intake
 * The webhook of each submitted job: the one it asks for, or its key's default, checked
 * against the URL policy before anything is written. A refused URL is a 422 that says why
 * (listing every job of a batch that has one); a host that could not be resolved just now is
 * a 503 (try again). Accepted webhooks are kept on the job's record as `webhook`.
 */
import { type FieldError, fieldProblem, ProblemError } from '../problems.js';
import { noWebhookDefaults, type WebhookDefaults } from './defaults.js';
import type { WebhookRequest } from './schemas.js';
import { type UrlPolicy, WebhookHostUnresolved, WebhookUrlRefused } from './url-policy.js';
import type { StoredWebhook } from './view.js';

export interface IntakeOptions {
  /** False without WEBHOOK_SECRET: deliveries could not be signed, so none are accepted. */
  enabled: boolean;
  policy: UrlPolicy;
  defaults?: WebhookDefaults;
  /** How long a submission waits for a webhook host to resolve. */
  resolveTimeoutMs: number;
  /** Lists jobs with a webhook as open (see `webhooks/outbox`). */
  track(ids: string[], createdAt: number): Promise<unknown>;
}

/** A job's `webhook` field as submitted: absent (use the default), null (none), or a webhook. */
export type RequestedWebhook = WebhookRequest | null | undefined;

export class WebhookIntake {
  readonly #options: IntakeOptions;
  readonly #defaults: WebhookDefaults;

  constructor(options: IntakeOptions) {
    this.#options = options;
    this.#defaults = options.defaults ?? noWebhookDefaults;
  }

  /**
   * The webhook of each job, checked (DNS included), or undefined for none. `where[i]` is
   * where job i sits in the body (`''`, or `jobs.3` in a batch), for the error paths.
   */
  resolve(
    requested: RequestedWebhook[],
    where: string[],
    owner: string | undefined,
  ): Promise<(StoredWebhook | undefined)[]> {
    const fallback = this.#defaults.forOwner(owner);
    const chosen = requested.map((r) => (r === undefined ? fallback : (r ?? undefined)));
    // Most submissions have no webhook: answered without an async frame (a promise and a
    // turn less per submission); the checks below are.
    if (chosen.every((w) => w === undefined)) return Promise.resolve(chosen as undefined[]);
    return this.#checked(requested, chosen, where);
  }

  /** The chosen webhooks, each checked (see `resolve`). */
  async #checked(
    requested: RequestedWebhook[],
    chosen: (StoredWebhook | undefined)[],
    where: string[],
  ): Promise<(StoredWebhook | undefined)[]> {
    const errors: FieldError[] = [];
    const at = (i: number, field: string) => [where[i], field].filter(Boolean).join('.');
    if (!this.#options.enabled) {
      chosen.forEach((w, i) => {
        if (w)
          errors.push({
            path: at(i, 'webhook'),
            message: 'webhooks are off on this server (it has no WEBHOOK_SECRET to sign them with)',
          });
      });
      throw fieldProblem(errors);
    }
    // One check per distinct URL: a batch of a hundred jobs to one receiver resolves it once.
    const checks = new Map<string, Promise<string | undefined>>();
    const check = (url: string) => {
      let pending = checks.get(url);
      if (!pending) {
        pending = this.#check(url);
        checks.set(url, pending);
      }
      return pending;
    };
    const refusals = await Promise.all(chosen.map((w) => (w ? check(w.url) : undefined)));
    refusals.forEach((refusal, i) => {
      if (refusal === undefined) return;
      const isDefault = requested[i] === undefined;
      errors.push({
        path: at(i, isDefault ? 'webhook' : 'webhook.url'),
        message: isDefault ? `the default webhook of this API key is refused: ${refusal}` : refusal,
      });
    });
    if (errors.length > 0) throw fieldProblem(errors);
    return chosen;
  }

  track(ids: string[], createdAt: number): Promise<unknown> {
    return this.#options.track(ids, createdAt);
  }

  /** Why the URL is refused, or undefined when it is fine; throws a 503 problem for a DNS failure. */
  async #check(text: string): Promise<string | undefined> {
    try {
      const url = this.#options.policy.parse(text);
      await this.#options.policy.resolve(url, this.#options.resolveTimeoutMs);
      return undefined;
    } catch (error) {
      if (error instanceof WebhookUrlRefused) return error.message;
      if (error instanceof WebhookHostUnresolved) {
        if (error.permanent) return error.message;
        throw new ProblemError(
          'unavailable',
          `the webhook's host could not be checked just now: ${error.message}; try again`,
          {
            headers: { 'retry-after': '5' },
            cause: error,
          },
        );
      }
      throw error;
    }
  }
}
