/**
 * @module server-types
 * The hono environment of every route: the Node objects @hono/node-server hands to handlers
 * as `c.env`, and the per-request variables set by middleware.
 */
import type { Http2Bindings, HttpBindings } from '@hono/node-server';

export type ServerBindings = HttpBindings | Http2Bindings;

/** Who is calling, as established by `auth/middleware`. */
export interface Principal {
  /** Owner id of the API key (or of the key that issued the stream token); undefined when open. */
  owner: string | undefined;
  via: 'open' | 'key' | 'token';
  /** Jobs a stream token covers (via = 'token'). */
  tokenJobs?: readonly string[];
  /**
   * Whom limits are counted against: the key's owner, or the client's address (its /64 for
   * IPv6) when open and for a stream token's holder (each viewer, not the key that issued it).
   * Read only where a limit counts it (a getter, when it is an address: see `app`).
   */
  readonly clientId: string;
}

export type AppEnv = {
  Bindings: ServerBindings;
  /**
   * `clientAddress`: the client's address, seen through trusted proxies (see `client-address`),
   * worked out on the first call.
   * `jsonHeaders`: the headers of every JSON answer but its request id: its content type and
   * the security headers every answer carries (see `app`). One shared object, never changed.
   * `jsonAnswer`: the answer `routes/json` built, which carries them already.
   */
  Variables: {
    principal: Principal;
    requestId: string;
    clientAddress: () => string;
    jsonHeaders: Readonly<Record<string, string>>;
    jsonAnswer: Response;
  };
};
