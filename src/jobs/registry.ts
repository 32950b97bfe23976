/**
 * @module jobs/registry
 * The job types a process knows: the built-in ones (`jobs/builtin`) and those of the module
 * `JOB_TYPES` names (`jobs/load`), each checked once, at start-up. The API validates `data` with
 * them on submit and documents each one; the workers validate again and run the handler.
 *
 * An `input` given as JSON Schema is turned into a zod schema here (`z.fromJSONSchema`), so that
 * validation, defaults, field errors and the OpenAPI description work the same for both kinds.
 */
import { z } from 'zod';
import { builtInJobTypes, type HandlerOverrides } from './builtin/index.js';
import type { JobHandler } from './job-type.js';

/** A job type as the API and the workers use it, checked and with a zod `input`. */
export interface RegisteredJobType {
  readonly name: string;
  readonly description: string;
  /** Validates `data` and fills its defaults. */
  readonly input: z.ZodType;
  /** Describes the result (documentation only). */
  readonly result: z.ZodType | undefined;
  readonly handler: JobHandler;
}

/** A job type definition that cannot be used; the message says which and why. */
export class JobTypeError extends Error {
  override name = 'JobTypeError';
}

/** Job type names: what `POST /jobs` takes as `type` (≤ 100 characters) and a readable word. */
const NAME = /^[A-Za-z][A-Za-z0-9_.:-]{0,99}$/;

export class JobTypeRegistry {
  readonly #types: ReadonlyMap<string, RegisteredJobType>;

  private constructor(types: Iterable<RegisteredJobType>) {
    this.#types = new Map([...types].map((type) => [type.name, type]));
  }

  /** The built-in job types alone. */
  static builtIn(): JobTypeRegistry {
    builtIns ??= JobTypeRegistry.from([], 'built-in');
    return builtIns;
  }

  /**
   * The built-in job types plus `definitions` (e.g. a module's default export), each checked;
   * throws a {@link JobTypeError} naming `origin` for the first that cannot be used.
   */
  static from(definitions: unknown, origin: string): JobTypeRegistry {
    if (!Array.isArray(definitions)) {
      throw new JobTypeError(
        `${origin}: the default export must be an array of job types, not ${describe(definitions)}`,
      );
    }
    const types: RegisteredJobType[] = [];
    const byKey = new Map<string, string>();
    const all = [
      ...builtInJobTypes.map((definition) => ({ definition, origin: 'built-in' })),
      ...definitions.map((definition) => ({ definition, origin })),
    ];
    all.forEach(({ definition, origin: from }, i) => {
      const type = check(definition, from, i - builtInJobTypes.length);
      // Names that differ only in case or punctuation would share a name in the API description.
      const key = type.name.toLowerCase().replace(/[^a-z0-9]/g, '');
      const clash = byKey.get(key);
      if (clash !== undefined) {
        throw new JobTypeError(
          clash === type.name
            ? `${from}: job type "${type.name}" is defined twice${builtInJobTypes.some((b) => b.name === clash) ? ' (it is built in)' : ''}`
            : `${from}: job types "${clash}" and "${type.name}" differ only in case or punctuation; rename one`,
        );
      }
      byKey.set(key, type.name);
      types.push(type);
    });
    return new JobTypeRegistry(types);
  }

  /** Every type's name, built-in ones first. */
  get names(): string[] {
    return [...this.#types.keys()];
  }

  get(name: string): RegisteredJobType | undefined {
    return this.#types.get(name);
  }

  /** This registry with other handlers for some types (tests run scripted jobs this way). */
  withHandlers(handlers: HandlerOverrides & Record<string, JobHandler | undefined>): JobTypeRegistry {
    return new JobTypeRegistry(
      [...this.#types.values()].map((type) => {
        const handler = handlers[type.name];
        return handler ? { ...type, handler } : type;
      }),
    );
  }
}

let builtIns: JobTypeRegistry | undefined;

/** Checks one definition (entry `index` of `origin`; negative for built-ins) → a registered type. */
function check(definition: unknown, origin: string, index: number): RegisteredJobType {
  const where = index >= 0 ? `${origin}: job type #${index + 1}` : origin;
  if (typeof definition !== 'object' || definition === null) {
    throw new JobTypeError(`${where} is ${describe(definition)}, not a job type ({ name, input, handler })`);
  }
  const { name, description, input, result, handler } = definition as Record<string, unknown>;
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new JobTypeError(
      `${where} has ${name === undefined ? 'no name' : `the name ${JSON.stringify(name)}`}: a name is a letter, then letters, digits and _ . : - (at most 100)`,
    );
  }
  const named = `${origin}: job type "${name}"`;
  if (typeof handler !== 'function') {
    throw new JobTypeError(`${named} has no handler: handler(input, ctx) must be a function`);
  }
  if (description !== undefined && typeof description !== 'string') {
    throw new JobTypeError(`${named}: description must be a string`);
  }
  return {
    name,
    description: description ?? '',
    input: toZod(input, `${named}: input`),
    result: result === undefined ? undefined : toZod(result, `${named}: result`),
    handler: handler as JobHandler,
  };
}

/** A zod 4 schema as it is, a JSON Schema object as zod; either must convert back for the docs. */
function toZod(schema: unknown, what: string): z.ZodType {
  let zod: z.ZodType;
  if (isZod4(schema)) {
    zod = schema;
  } else if (typeof schema === 'object' && schema !== null && '_def' in schema && 'safeParse' in schema) {
    throw new JobTypeError(`${what} is a zod 3 schema: use zod 4 ("zod" ≥ 4), or a JSON Schema object`);
  } else if (typeof schema === 'object' && schema !== null && !Array.isArray(schema)) {
    try {
      zod = z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
    } catch (error) {
      throw new JobTypeError(`${what} is not a JSON Schema jobcast can read: ${(error as Error).message}`);
    }
  } else {
    throw new JobTypeError(`${what} must be a zod schema or a JSON Schema object, not ${describe(schema)}`);
  }
  let documented: Record<string, unknown>;
  try {
    documented = z.toJSONSchema(zod, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' });
  } catch (error) {
    throw new JobTypeError(`${what} cannot be described as JSON Schema: ${(error as Error).message}`);
  }
  if ('$defs' in documented) throw new JobTypeError(`${what} is recursive, which the API description cannot show`);
  return zod;
}

function isZod4(value: unknown): value is z.ZodType {
  return typeof value === 'object' && value !== null && '_zod' in value && 'safeParse' in value;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value) ?? ''}`.trim();
}
