/**
 * @module jobs/details
 * The `details` a handler may attach to a progress report (`ctx.progress(percent, message,
 * details)`): a small JSON object — counts, the current file, a phase — carried on progress
 * events and the job resource. Checked in the worker before anything is sent, so a bad one is
 * an error in the handler's hands (it may catch it), never a broken record or a crashed worker.
 */

/** The largest `details`, as JSON in UTF-8. */
export const MAX_DETAILS_BYTES = 4096;

/** Thrown by `ctx.progress` for details that are not a JSON object of at most MAX_DETAILS_BYTES. */
export class InvalidDetailsError extends TypeError {
  override name = 'InvalidDetailsError';
}

/**
 * The JSON text of `details`, or an {@link InvalidDetailsError} saying what is wrong: not a
 * plain object (an array, null, a class instance), not serialisable (a cycle, a BigInt), or
 * larger than {@link MAX_DETAILS_BYTES}.
 */
export function serializeDetails(details: unknown): string {
  const proto = details !== null && typeof details === 'object' ? Object.getPrototypeOf(details) : undefined;
  if (proto !== Object.prototype && proto !== null) {
    throw new InvalidDetailsError(
      `progress details must be a plain JSON object, not ${details === null ? 'null' : Array.isArray(details) ? 'an array' : typeof details}`,
    );
  }
  let json: string;
  try {
    json = JSON.stringify(details);
  } catch (error) {
    throw new InvalidDetailsError(`progress details are not JSON: ${(error as Error).message}`);
  }
  const bytes = Buffer.byteLength(json);
  if (bytes > MAX_DETAILS_BYTES) {
    throw new InvalidDetailsError(
      `progress details are ${bytes} bytes of JSON; at most ${MAX_DETAILS_BYTES} are carried`,
    );
  }
  return json;
}
