/**
 * @module config
 * Environment → zod → frozen config. The only module that reads `process.env`
 * (entry points pass it in); everything else receives a `Config`. The settings themselves
 * (names, defaults, bounds, why) are `config/settings`.
 */
import type { z } from 'zod';
import { ConfigSchema } from './config/settings.js';

export type Config = Readonly<z.infer<typeof ConfigSchema>>;

export type { TrustProxy } from './config/trust-proxy.js';

/** Every setting's name (the README's configuration table is checked against this). */
export const configKeys = Object.keys(ConfigSchema.shape) as (keyof Config)[];

/** Thrown by {@link parseConfig}; lists every bad setting at once. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Pure: turns an environment into a validated, frozen config.
 * Empty strings count as unset, so `PORT= npm start` means the default.
 *
 * @example
 * const config = parseConfig(process.env);
 */
export function parseConfig(env: Record<string, string | undefined>): Config {
  const present = Object.fromEntries(
    Object.entries(env).filter(([key, value]) => key in ConfigSchema.shape && value !== ''),
  );
  const parsed = ConfigSchema.refine((c) => (c.TLS_CERT === undefined) === (c.TLS_KEY === undefined), {
    path: ['TLS_CERT'],
    message: 'set TLS_CERT and TLS_KEY together (or neither)',
  })
    .refine((c) => c.WEBHOOK_DEFAULTS_FILE === undefined || c.WEBHOOK_SECRET !== undefined, {
      path: ['WEBHOOK_DEFAULTS_FILE'],
      message: 'default webhooks need WEBHOOK_SECRET to sign their deliveries',
    })
    .safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const key = String(issue.path[0] ?? '');
        return `${key}=${JSON.stringify(env[key])}: ${issue.message}`;
      }),
    );
  }
  return Object.freeze(parsed.data);
}

/** For entry points: parse or print every problem and exit before anything listens. */
export function loadConfigOrExit(env: Record<string, string | undefined>): Config {
  return orExitOnConfigError(() => parseConfig(env));
}

/** For entry points: `fn`'s result, or its {@link ConfigError} printed and exit 2, as for a bad setting. */
export function orExitOnConfigError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`jobcast: ${error.message}`);
    process.exit(2);
  }
}
