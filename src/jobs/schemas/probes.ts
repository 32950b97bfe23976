/**
 * @module jobs/schemas/probes
 * What the probes answer when all is well (`GET /healthz`, `GET /readyz`); when not, they
 * answer a problem.
 */
import { z } from 'zod';

/** What `GET /healthz` answers. */
export const HealthStatus = z.object({ status: z.literal('ok') }).describe('The process is up.');
export type HealthStatus = z.infer<typeof HealthStatus>;

/** What `GET /readyz` answers. */
export const ReadyStatus = z.object({ status: z.literal('ready') }).describe('The process can reach Redis.');
export type ReadyStatus = z.infer<typeof ReadyStatus>;
