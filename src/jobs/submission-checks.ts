/**
 * @module jobs/submission-checks
 * The checks of a submission body, before anything is written: the envelope, then the job's
 * type, then its data against the type's schema. A batch is checked whole: one problem lists
 * what is wrong with every job (field paths `jobs.<index>.…`).
 */

import { type FieldError, fieldErrors, fieldProblem, ProblemError, validationProblem } from '../problems.js';
import type { RequestedWebhook, WebhookIntake } from '../webhooks/intake.js';
import type { StoredWebhook } from '../webhooks/view.js';
import type { JobTypeRegistry } from './registry.js';
import { JobOptions, SubmitBatchEnvelope, SubmitJobEnvelope } from './schemas.js';

/** A submission that passed every check: what gets enqueued. */
export interface ValidJob {
  type: string;
  data: unknown;
  options: JobOptions;
  /** As submitted: absent (the key's default applies), null (none), or a webhook. */
  webhook: RequestedWebhook;
  tags: string[] | undefined;
}

type Checked = { job: ValidJob; errors?: undefined } | { errors: FieldError[]; unknownType?: string };

const DEFAULT_OPTIONS: JobOptions = JobOptions.parse({});

/** The job of a `POST /jobs` body, or the problem (422, or 400 naming the known types) that says what is wrong. */
export function checkedJob(body: unknown, jobTypes: JobTypeRegistry): ValidJob {
  const checked = checkJob(body, '', jobTypes);
  if (!checked.errors) return checked.job;
  if (checked.unknownType === undefined) throw fieldProblem(checked.errors);
  throw new ProblemError('unknown-job-type', unknownTypeMessage(checked.unknownType, jobTypes), {
    extensions: { knownTypes: jobTypes.names },
  });
}

/** The jobs of a batch body, every one checked; one problem lists what is wrong with all. */
export function checkedBatch(body: unknown, jobTypes: JobTypeRegistry): ValidJob[] {
  const envelope = SubmitBatchEnvelope.safeParse(body);
  if (!envelope.success) throw validationProblem(envelope.error, '');
  const jobs: ValidJob[] = [];
  const errors: FieldError[] = [];
  envelope.data.jobs.forEach((job, i) => {
    const checked = checkJob(job, `jobs.${i}`, jobTypes);
    if (checked.errors) errors.push(...checked.errors);
    else jobs.push(checked.job);
  });
  if (errors.length > 0) throw fieldProblem(errors);
  return jobs;
}

/**
 * webhooks (#17): each job's webhook — the one it asks for or its key's default — checked
 * before anything is written (see webhooks/intake). `where` are the jobs' places in the body.
 * Without an intake (webhooks off), a job that asks for one is refused.
 */
export function checkedWebhooks(
  intake: WebhookIntake | undefined,
  jobs: ValidJob[],
  where: string[],
  owner: string | undefined,
): Promise<(StoredWebhook | undefined)[]> {
  // Not async: the intake's promise is handed on as it is, one layer less per submission.
  // (A refusal below is thrown at once, where `submit` awaits it, as a rejection would be.)
  if (intake)
    return intake.resolve(
      jobs.map((j) => j.webhook),
      where,
      owner,
    );
  const asked = jobs.flatMap((j, i) =>
    j.webhook
      ? [{ path: [where[i], 'webhook'].filter(Boolean).join('.'), message: 'webhooks are off on this server' }]
      : [],
  );
  if (asked.length > 0) throw fieldProblem(asked);
  return Promise.resolve(jobs.map(() => undefined));
}

/**
 * Checks one submission: the envelope, then the type, then the data against the type's
 * schema. Field paths start with `where` (`jobs.3` in a batch).
 */
function checkJob(body: unknown, where: string, jobTypes: JobTypeRegistry): Checked {
  const at = (field: string) => (where ? `${where}.${field}` : field);
  const envelope = SubmitJobEnvelope.safeParse(body);
  if (!envelope.success) return { errors: fieldErrors(envelope.error, where) };
  const { type } = envelope.data;
  const jobType = jobTypes.get(type);
  if (!jobType) {
    return { errors: [{ path: at('type'), message: unknownTypeMessage(type, jobTypes) }], unknownType: type };
  }
  // Absent data means "all defaults"; null is a value, and the schema judges it.
  const data = jobType.input.safeParse(envelope.data.data === undefined ? {} : envelope.data.data);
  if (!data.success) return { errors: fieldErrors(data.error, at('data')) };
  return {
    job: {
      type,
      data: data.data,
      options: envelope.data.options ?? DEFAULT_OPTIONS,
      webhook: envelope.data.webhook,
      tags: envelope.data.tags,
    },
  };
}

const unknownTypeMessage = (type: string, jobTypes: JobTypeRegistry) =>
  `unknown job type ${JSON.stringify(type)}; known types: ${jobTypes.names.join(', ')}`;
