/**
 * A logger that keeps what it is given, for tests that check what the API logs (the level, the
 * message, the fields) without spawning a process: pass it to `startApi`.
 *
 * @example
 * const log = recordingLogger();
 * const api = await startApi(config, redisUrl, log);
 * expect(log.lines.filter((l) => l.level === 'error')).toEqual([]);
 */
import type { Logger } from '../../../src/log.js';

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  fields: Record<string, unknown>;
}

export type RecordingLogger = Logger & { readonly lines: LogLine[] };

export function recordingLogger(): RecordingLogger {
  const lines: LogLine[] = [];
  const at =
    (level: LogLine['level'], bindings: object) =>
    (msg: string, fields?: object): void => {
      lines.push({ level, msg, fields: { ...bindings, ...fields } });
    };
  const make = (bindings: object): RecordingLogger => ({
    lines,
    debug: at('debug', bindings),
    info: at('info', bindings),
    warn: at('warn', bindings),
    error: at('error', bindings),
    child: (more) => make({ ...bindings, ...more }),
    enabled: () => true,
  });
  return make({});
}
