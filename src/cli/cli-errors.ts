/** A command line that cannot be run as given: one line on stderr, exit status 2. */
export class UsageError extends Error {
  readonly code = 'USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const EXIT_OK = 0;
/** The command ran and failed (server could not start, file unreadable, peer unreachable). */
export const EXIT_FAILURE = 1;
/** Bad flags or configuration. */
export const EXIT_USAGE = 2;
