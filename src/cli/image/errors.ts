// Turns library failures into one-line CLI errors with a hint the user can act on.
import { CliError } from '../cli-error.js';
import { asCliError } from '../explain-error.js';

/** A CliError for anything the user should see as one line; other values pass through. */
export function toCliError(error: unknown): unknown {
  if (error instanceof CliError || !(error instanceof Error)) return error;
  return asCliError(error);
}

/** Wraps a commander action so every failure leaves as a CliError where one fits. */
export function action<A extends unknown[]>(work: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await work(...args);
    } catch (error) {
      throw toCliError(error);
    }
  };
}
