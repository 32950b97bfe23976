/**
 * @module cli/exit
 * The CLI's exit codes (a contract for scripts, listed in `jobcast --help`) and its one error
 * class for bad usage.
 */

export const ExitCode = {
  /** The watched job completed; or get/list/cancel/logs/submit succeeded. */
  ok: 0,
  /** The watched job failed. */
  failed: 1,
  /** Bad command line: unknown command or option, missing argument, malformed value. */
  usage: 2,
  /** The watched job was cancelled. */
  cancelled: 3,
  /** The API answered with a problem (RFC 9457), e.g. 404 job not found, 422 invalid data. */
  api: 4,
  /** The server could not be reached (for `watch`: no connection for JOBCAST_GIVE_UP_MS). */
  unreachable: 5,
  /** Ctrl-C while watching: 128 + SIGINT, as shells report it. The job keeps running. */
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A mistake on the command line; `command` picks which usage text to print with it. */
export class UsageError extends Error {
  override name = 'UsageError';
  constructor(
    message: string,
    readonly command?: string,
    /**
     * What was given to read was wrong (a file, its JSON), not how the command was written:
     * the line says it all, and the command's whole usage text would bury it.
     */
    readonly input = false,
  ) {
    super(message);
  }
}
