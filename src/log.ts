/**
 * @module log
 * A tiny structured logger: one JSON object per line on stderr, filtered by `LOG_LEVEL`.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type Logger = Record<Exclude<LogLevel, 'silent'>, (msg: string, fields?: object) => void>;

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

export function createLogger(level: LogLevel, base: object = {}): Logger {
  const at = (lvl: Exclude<LogLevel, 'silent'>) =>
    rank[lvl] < rank[level]
      ? () => {}
      : (msg: string, fields?: object) => {
          const line = { level: lvl, time: new Date().toISOString(), msg, ...base, ...fields };
          process.stderr.write(`${JSON.stringify(line, errorReplacer)}\n`);
        };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

// Errors have no enumerable fields; log their name, message and stack.
function errorReplacer(_key: string, value: unknown): unknown {
  return value instanceof Error ? { name: value.name, message: value.message, stack: value.stack } : value;
}
