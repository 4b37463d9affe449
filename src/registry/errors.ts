// OCI error responses. Handlers throw or return RegistryError; one place turns it into
// `{"errors":[{code,message,detail}]}` with the catalog's HTTP status.
import { ERROR_CODES, type ErrorCode } from '../oci/error-codes.js';

/** Codes distribution uses beyond the spec's fourteen, kept for client parity. */
export type ExtraErrorCode = 'PAGINATION_NUMBER_INVALID' | 'RANGE_INVALID' | 'UNKNOWN' | 'NOT_FOUND';

export class RegistryError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode | ExtraErrorCode,
    message?: string,
    readonly detail?: unknown,
    status?: number,
    readonly headers: Record<string, string> = {},
  ) {
    super(message ?? (isCatalogCode(code) ? ERROR_CODES[code].message : code.toLowerCase()));
    this.status = status ?? (isCatalogCode(code) ? ERROR_CODES[code].status : 400);
  }

  body(): string {
    return JSON.stringify({ errors: [{ code: this.code, message: this.message, detail: this.detail ?? null }] });
  }
}

function isCatalogCode(code: string): code is ErrorCode {
  return Object.prototype.hasOwnProperty.call(ERROR_CODES, code);
}

export function registryError(code: ErrorCode, message?: string, detail?: unknown): RegistryError {
  return new RegistryError(code, message, detail);
}
