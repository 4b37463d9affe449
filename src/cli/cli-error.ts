// CLI failures: one line on stderr, a non-zero exit, and a hint where one helps.

export class CliError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** The final line a failed command prints, and its exit code. */
export function formatCliError(error: unknown, explain: (error: unknown) => { message: string; hint?: string }): { line: string; exitCode: number } {
  const { message, hint } = error instanceof CliError ? { message: error.message, hint: error.hint } : explain(error);
  return { line: `error: ${message.split('\n')[0]}${hint ? ` (hint: ${hint})` : ''}`, exitCode: error instanceof CliError ? error.exitCode : 1 };
}
