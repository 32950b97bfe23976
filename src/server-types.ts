/**
 * @module server-types
 * The Node objects @hono/node-server hands to handlers as `c.env`.
 */
import type { Http2Bindings, HttpBindings } from '@hono/node-server';

export type ServerBindings = HttpBindings | Http2Bindings;
