// Failures talking to a registry, with the OCI error code when the body had one.
import type { ErrorBodyEntry } from '../oci/error-codes.js';

export class RegistryRequestError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly errors: readonly ErrorBodyEntry[] = [],
    override readonly cause?: unknown,
  ) {
    super(message);
  }

  /** The first OCI error code in the response body, if any. */
  get code(): string | undefined {
    return this.errors[0]?.code;
  }
}

export class UnauthorizedError extends RegistryRequestError {}

/** Parses `{"errors":[...]}`; anything else gives an empty list. */
export function parseErrorBody(body: Buffer | undefined): ErrorBodyEntry[] {
  if (!body || body.length === 0) return [];
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { errors?: unknown };
    if (!Array.isArray(parsed.errors)) return [];
    return parsed.errors.filter(
      (e): e is ErrorBodyEntry => typeof e === 'object' && e !== null && typeof (e as ErrorBodyEntry).code === 'string',
    );
  } catch {
    return [];
  }
}

/** One line a user can act on: status, code and message, never credentials. */
export function describeFailure(status: number | undefined, errors: readonly ErrorBodyEntry[], url: string): string {
  const where = new URL(url);
  const target = `${where.host}${where.pathname}`;
  const first = errors[0];
  if (first) return `${first.code}: ${first.message} (${status ?? 'no status'} from ${target})`;
  return `unexpected HTTP ${status ?? 'failure'} from ${target}`;
}

/** The TLS handshake met something that is not a TLS server (a plain-http registry). */
export function speaksNoTls(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? '';
  const message = error instanceof Error ? error.message : String(error);
  return code === 'EPROTO' || code.startsWith('ERR_SSL_') || /wrong version number|packet length too long/i.test(message);
}

/** Error codes that mean the registry could not be reached or went silent (not that it refused). */
const CONNECTION_FAILURE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
]);

/** The request never got an answer: refused, reset, timed out, or the name did not resolve. */
export function isConnectionFailure(error: unknown): boolean {
  return CONNECTION_FAILURE_CODES.has((error as NodeJS.ErrnoException | undefined)?.code ?? '');
}
