// Turns library failures into one-line CLI errors with a hint the user can act on.
import { AuthFileError } from '../../client/auth-file.js';
import { CopyError } from '../../client/copy-image.js';
import { RegistryRequestError, UnauthorizedError } from '../../client/errors.js';
import { DigestMismatchError } from '../../client/verify-stream.js';
import { StoreError } from '../../store/errors.js';
import { LockTimeoutError } from '../../store/file-lock.js';
import { CliError } from '../cli-error.js';

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function firstLine(error: Error): string {
  return error.message.split('\n')[0] ?? '';
}

export function toCliError(error: unknown): unknown {
  if (error instanceof CliError || !(error instanceof Error)) return error;
  if (error instanceof StoreError) return new CliError(firstLine(error), error.hint);
  if (error instanceof LockTimeoutError) return new CliError(firstLine(error), 'another berth command is using the image store; retry when it has finished');
  if (error instanceof AuthFileError) return new CliError(firstLine(error), 'fix or remove the file, then log in again');
  if (error instanceof UnauthorizedError) return new CliError(firstLine(error), 'run `berth login <registry>` with an account allowed to do this');
  if (error instanceof DigestMismatchError) return new CliError(firstLine(error), 'the source sent corrupt data; retry, and check the source registry');
  if (error instanceof CopyError) {
    const hint = /multi-platform|has no .* image/.test(error.message)
      ? 'choose one with --platform os/arch, or keep all with --all-platforms'
      : /manifest unknown/.test(error.message)
        ? 'check the repository name and tag'
        : undefined;
    return new CliError(firstLine(error), hint);
  }
  if (error instanceof RegistryRequestError) {
    const hint = error.status === 404 ? 'check the repository name and tag' : error.status === 403 ? 'the account may not do this; check its permissions' : undefined;
    return new CliError(firstLine(error), hint);
  }
  const code = (error as NodeJS.ErrnoException).code ?? '';
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ETIMEDOUT' || code === 'ECONNRESET') {
    return new CliError(firstLine(error), 'is the registry running, and is the address right?');
  }
  if (TLS_CODES.has(code)) return new CliError(`TLS: ${firstLine(error)}`, 'trust its CA with --ca-file, or use --insecure');
  if (code === 'EPROTO' || /wrong version number|packet length too long/.test(error.message)) {
    return new CliError(`TLS handshake failed: ${firstLine(error)}`, 'the registry may speak plain http; use --plain-http');
  }
  if (code === 'ENOSPC') return new CliError(`no space left on device${pathOf(error)}`, 'free some space and retry');
  return error;
}

function pathOf(error: Error): string {
  const file = (error as NodeJS.ErrnoException).path;
  return file ? ` (writing ${file})` : '';
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
