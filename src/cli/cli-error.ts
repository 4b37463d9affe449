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

export function formatCliError(error: unknown): { line: string; exitCode: number } {
  if (error instanceof CliError) {
    return { line: `error: ${error.message}${error.hint ? ` (hint: ${error.hint})` : ''}`, exitCode: error.exitCode };
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  const hint =
    code === 'EACCES' || code === 'EPERM'
      ? 'check permissions, or run as a user that may write there'
      : code === 'EADDRINUSE'
        ? 'another process listens on that address; pick another with --addr'
        : code === 'ENOSPC'
          ? 'the disk is full; free space and retry'
          : undefined;
  return { line: `error: ${message.split('\n')[0]}${hint ? ` (hint: ${hint})` : ''}`, exitCode: 1 };
}
