/**
 * `@jobcast/client`'s wire types stay in step with the service's zod schemas: the committed
 * `packages/client/src/types.ts` is exactly what `npm run openapi` generates from them, and each
 * generated type equals the zod schema's own type (checked by the typechecker, which `npm test`
 * runs over this file).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import type * as Client from '../packages/client/src/types.js';
import { clientTypesSource } from '../scripts/client-types.js';
import type * as S from '../src/jobs/schemas.js';

describe('the client types', () => {
  it('are what `npm run openapi` generates from the zod schemas (run it when this fails)', () => {
    const committed = readFileSync(new URL('../packages/client/src/types.ts', import.meta.url), 'utf8');
    expect(committed).toBe(clientTypesSource());
  });

  it('equal the types of the schemas the service answers with', () => {
    expectTypeOf<Client.JobResource>().toEqualTypeOf<z.output<typeof S.JobResource>>();
    expectTypeOf<Client.JobBatch>().toEqualTypeOf<z.output<typeof S.JobBatch>>();
    expectTypeOf<Client.JobList>().toEqualTypeOf<z.output<typeof S.JobList>>();
    expectTypeOf<Client.JobLogs>().toEqualTypeOf<z.output<typeof S.JobLogs>>();
    expectTypeOf<Client.ProgressEvent>().toEqualTypeOf<z.output<typeof S.ProgressEvent>>();
    expectTypeOf<Client.LogEvent>().toEqualTypeOf<z.output<typeof S.LogEvent>>();
    expectTypeOf<Client.DoneEvent>().toEqualTypeOf<z.output<typeof S.DoneEvent>>();
    expectTypeOf<Client.ResetEvent>().toEqualTypeOf<z.output<typeof S.ResetEvent>>();
    expectTypeOf<Client.GoneEvent>().toEqualTypeOf<z.output<typeof S.GoneEvent>>();
    expectTypeOf<Client.StreamToken>().toEqualTypeOf<z.output<typeof S.StreamToken>>();
    expectTypeOf<Client.JobOptionsInput>().toEqualTypeOf<z.input<typeof S.JobOptions>>();
    expectTypeOf<Client.JobState>().toEqualTypeOf<z.output<typeof S.JobState>>();
  });
});
