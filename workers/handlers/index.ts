/**
 * @module workers/handlers
 * Job type → handler. Typed against the registry in `src/jobs/registry.ts`.
 */
import type { HandlerMap } from '../handler.js';
import { simulate } from './simulate.js';

export const handlers: HandlerMap = { simulate };
