/**
 * Errors a user can act on. The CLI prints their message alone (no stack trace)
 * and exits with status 2; notebooks show the message.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(message: string) {
    super(message);
  }
}
