// One place that turns library and system failures into a line a user can act on:
// the message, and a hint where one helps. Used for the final error of every command
// and for per-item failures in reports (sync, rmi, status).
import { AuthFileError } from '../client/auth-file.js';
import { CopyError } from '../client/copy-image.js';
import { RegistryRequestError, UnauthorizedError, speaksNoTls } from '../client/errors.js';
import { DigestMismatchError } from '../client/verify-stream.js';
import { StoreError } from '../store/errors.js';
import { LockTimeoutError } from '../store/file-lock.js';
import { CliError } from './cli-error.js';
import { insecureFilesHint } from './config-files.js';

const CERTIFICATE_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_UNTRUSTED',
]);

export interface Explained {
  readonly message: string;
  readonly hint?: string;
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}

export function explainError(error: unknown): Explained {
  const raw = firstLine(error);
  if (error instanceof CliError) return { message: raw, ...(error.hint ? { hint: error.hint } : {}) };
  if (error instanceof StoreError) return { message: raw, ...(error.hint ? { hint: error.hint } : {}) };
  if (error instanceof LockTimeoutError) return { message: raw, hint: 'another berth command is using the image store; retry when it has finished' };
  if (error instanceof AuthFileError) return { message: raw, hint: 'fix or remove the file, then log in again' };
  if (error instanceof UnauthorizedError) return { message: raw, hint: 'run `berth login REGISTRY` with an account allowed to do this' };
  if (error instanceof DigestMismatchError) return { message: raw, hint: 'the source sent corrupt data; retry, and check the source registry' };
  if (error instanceof CopyError) {
    if (/multi-platform|has no .* image/.test(raw)) return { message: raw, hint: 'choose one with --platform os/arch, or keep all with --all-platforms' };
    if (/manifest unknown/.test(raw)) return { message: raw, hint: 'check the repository name and tag' };
    return { message: raw };
  }
  if (error instanceof RegistryRequestError) {
    if (error.status === 404) return { message: raw, hint: 'check the repository name and tag' };
    if (error.status === 403) return { message: raw, hint: 'the account may not do this; check its permissions' };
    return { message: raw };
  }
  const errno = error as NodeJS.ErrnoException | undefined;
  const code = errno?.code ?? '';
  if (code === 'ECONNREFUSED') return { message: `connection refused (${raw.replace(/^connect ECONNREFUSED /, '')})`, hint: 'is the registry running, and is the address right?' };
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return { message: `cannot resolve host (${raw})`, hint: 'check the registry name, or add it to /etc/hosts (or to a file named by $BERTH_HOSTS_FILE)' };
  if (code === 'ETIMEDOUT' || code === 'ECONNRESET' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return { message: raw, hint: 'check the address and the network path to the registry' };
  if (speaksNoTls(error)) {
    return { message: 'TLS handshake failed: the server does not speak TLS', hint: `for a plain-HTTP registry, ${insecureFilesHint()}` };
  }
  if (CERTIFICATE_CODES.has(code)) return { message: `TLS certificate not trusted (${code})`, hint: 'pass its CA with --ca-file, or use --insecure' };
  if (code === 'ENOSPC') return { message: errno?.path ? `no space left on device (writing ${errno.path})` : raw, hint: 'the disk is full; free space and retry' };
  if (code === 'EACCES' || code === 'EPERM') return { message: raw, hint: 'check permissions, or run as a user that may write there' };
  if (code === 'EADDRINUSE') return { message: raw, hint: 'another process listens on that address; pick another with --addr' };
  return { message: raw };
}

/** `message (hint: ...)` on one line. */
export function explainLine(error: unknown): string {
  const { message, hint } = explainError(error);
  return hint ? `${message} (hint: ${hint})` : message;
}

/** A CliError for the failure, its message prefixed with what was being done. */
export function asCliError(error: unknown, context?: string): CliError {
  if (error instanceof CliError && context === undefined) return error;
  const { message, hint } = explainError(error);
  return new CliError(context ? `${context}: ${message}` : message, hint, error instanceof CliError ? error.exitCode : 1);
}
