/**
 * @module log
 * Structured logs with pino: one JSON object per line (what log shippers want), or
 * human-readable lines in development (`LOG_FORMAT=pretty`, the default on a terminal when
 * pino-pretty is installed). Secrets are redacted by path as a second line of defence; the
 * code never logs keys or tokens in the first place.
 */
import { createRequire } from 'node:module';
import { type DestinationStream, pino } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type LogFormat = 'json' | 'pretty' | 'auto';

/** The logging surface the code uses: a message, then fields. */
export type Logger = Record<Exclude<LogLevel, 'silent'>, (msg: string, fields?: object) => void> & {
  child(bindings: object): Logger;
  /** Whether lines of `level` are written: a line costly to build is built only then. */
  enabled(level: Exclude<LogLevel, 'silent'>): boolean;
};

const REDACT = [
  'authorization',
  'apiKey',
  'token',
  'secret',
  '*.authorization',
  '*.apiKey',
  '*.token',
  '*.secret',
  'headers.authorization',
  'req.headers.authorization',
];

export function createLogger(level: LogLevel, base: object = {}, format: LogFormat = 'auto'): Logger {
  const destination = format === 'json' ? undefined : prettyStream(format === 'pretty');
  const root = pino(
    {
      level,
      base: { ...base },
      redact: { paths: REDACT, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { error: pino.stdSerializers.err, cause: pino.stdSerializers.err },
    },
    destination ?? pino.destination({ fd: 2, sync: true }),
  );
  return wrap(root);
}

function wrap(logger: pino.Logger): Logger {
  const at =
    (lvl: Exclude<LogLevel, 'silent'>) =>
    (msg: string, fields?: object): void => {
      if (fields) logger[lvl](fields, msg);
      else logger[lvl](msg);
    };
  const enabled = {
    debug: logger.isLevelEnabled('debug'),
    info: logger.isLevelEnabled('info'),
    warn: logger.isLevelEnabled('warn'),
    error: logger.isLevelEnabled('error'),
  };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (bindings) => wrap(logger.child(bindings)),
    // The level is set once, at creation: asked on every request (the access log), answered
    // from what it was then rather than through pino's level lookup each time.
    enabled: (level) => enabled[level],
  };
}

/** pino-pretty when asked for, or on a terminal; undefined (JSON) when unwanted or not installed. */
function prettyStream(forced: boolean): DestinationStream | undefined {
  if (!forced && !process.stderr.isTTY) return undefined;
  try {
    const pretty = createRequire(import.meta.url)('pino-pretty') as (options: object) => DestinationStream;
    return pretty({ destination: 2, sync: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' });
  } catch {
    return undefined;
  }
}
