// The one catalog of errors the registry answers with, modelled on distribution's errcode
// registry: each entry names the code a client reads in the body
// (`{"errors":[{code,message,detail}]}`), the HTTP status and the default message. Throw
// sites name an entry and add detail; they never choose a status. Several entries share a
// code where distribution answers one code with different statuses (MANIFEST_INVALID is
// 400, or 413 for a manifest over the size limit), so clients written against registry:2
// see the same answers.
import type { ErrorBodyEntry } from '../oci/error-codes.js';

interface CatalogEntry {
  /** The `code` in the error body: the OCI spec's codes, and distribution's extras. */
  readonly code: string;
  readonly status: number;
  readonly message: string;
}

const entry = (code: string, status: number, message: string): CatalogEntry => ({ code, status, message });

export const ERROR_CATALOG = {
  // The distribution spec's codes, with distribution's statuses (MANIFEST_BLOB_UNKNOWN is
  // 400 there, not the spec's 404).
  BLOB_UNKNOWN: entry('BLOB_UNKNOWN', 404, 'blob unknown to registry'),
  BLOB_UPLOAD_INVALID: entry('BLOB_UPLOAD_INVALID', 400, 'blob upload invalid'),
  BLOB_UPLOAD_UNKNOWN: entry('BLOB_UPLOAD_UNKNOWN', 404, 'blob upload unknown to registry'),
  DIGEST_INVALID: entry('DIGEST_INVALID', 400, 'provided digest did not match uploaded content'),
  MANIFEST_BLOB_UNKNOWN: entry('MANIFEST_BLOB_UNKNOWN', 400, 'manifest references a manifest or blob unknown to registry'),
  MANIFEST_INVALID: entry('MANIFEST_INVALID', 400, 'manifest invalid'),
  MANIFEST_UNKNOWN: entry('MANIFEST_UNKNOWN', 404, 'manifest unknown to registry'),
  NAME_INVALID: entry('NAME_INVALID', 400, 'invalid repository name'),
  NAME_UNKNOWN: entry('NAME_UNKNOWN', 404, 'repository name not known to registry'),
  SIZE_INVALID: entry('SIZE_INVALID', 400, 'provided length did not match content length'),
  UNAUTHORIZED: entry('UNAUTHORIZED', 401, 'authentication required'),
  DENIED: entry('DENIED', 403, 'requested access to the resource is denied'),
  UNSUPPORTED: entry('UNSUPPORTED', 405, 'the operation is unsupported'),
  TOOMANYREQUESTS: entry('TOOMANYREQUESTS', 429, 'too many requests'),

  // Variants: one code, another status.
  /** A manifest body over the size limit. */
  MANIFEST_TOO_LARGE: entry('MANIFEST_INVALID', 413, 'manifest too large'),
  /** A chunk whose Content-Range does not start at the upload's offset, or is malformed. */
  UPLOAD_RANGE_INVALID: entry('BLOB_UPLOAD_INVALID', 416, 'chunk does not start at the upload offset'),
  /** A method the endpoint does not answer (the Allow header says which do). */
  METHOD_UNSUPPORTED: entry('UNSUPPORTED', 405, 'the method is not supported here'),
  DELETE_DISABLED: entry('UNSUPPORTED', 405, 'deletes are disabled on this registry'),
  READ_ONLY: entry('UNSUPPORTED', 405, 'the registry is in read-only mode'),
  TOO_MANY_UPLOADS: entry('TOOMANYREQUESTS', 429, 'too many concurrent uploads from this client'),
  TOO_MANY_AUTH_FAILURES: entry('TOOMANYREQUESTS', 429, 'too many failed logins from this address; try again later'),
  /** A robot account past its expiry date (the message names it and when). */
  ROBOT_EXPIRED: entry('UNAUTHORIZED', 401, 'the robot account has expired'),
  /** A Bearer token that is not valid here (signature, issuer, audience, expiry). */
  TOKEN_INVALID: entry('UNAUTHORIZED', 401, 'invalid or expired token'),
  /** A /token request this token server does not answer (an unknown grant type, another service). */
  TOKEN_REQUEST_INVALID: entry('UNSUPPORTED', 400, 'unsupported token request'),

  // distribution's extras beyond the spec.
  NOT_FOUND: entry('NOT_FOUND', 404, 'not found'),
  RANGE_INVALID: entry('RANGE_INVALID', 416, 'requested range not satisfiable'),
  PAGINATION_NUMBER_INVALID: entry('PAGINATION_NUMBER_INVALID', 400, 'invalid number of results requested'),
  UNKNOWN: entry('UNKNOWN', 500, 'internal storage error'),
  STORAGE_FULL: entry('UNKNOWN', 507, 'storage is full'),
  // A pull-through mirror. What it cannot provide is a 404 with the reason, not a 5xx: the
  // content is absent here, and clients (containerd's next host, the shim's fallback)
  // then look elsewhere instead of retrying, and count no failure against this registry.
  /** A push (upload, mount or manifest) under a mirrored prefix without allowPush. */
  MIRROR_PUSH_REFUSED: entry('DENIED', 403, 'this repository is a pull-through mirror: pushes are refused'),
  MIRROR_MANIFEST_UNAVAILABLE: entry('MANIFEST_UNKNOWN', 404, 'manifest not in the mirror, and no upstream could provide it'),
  MIRROR_BLOB_UNAVAILABLE: entry('BLOB_UNKNOWN', 404, 'blob not in the mirror, and no upstream could provide it'),

  /** The storage engine (an S3 endpoint) cannot be reached or answers with errors. */
  UNAVAILABLE: entry('UNAVAILABLE', 503, 'service unavailable: the storage cannot be reached'),

  // The web UI's extras (src/registry/ui). Its 401s carry no Basic challenge: a browser
  // would answer one with its own password prompt instead of the UI's sign-in page.
  /** No session, or one that expired or whose user's password changed. */
  SESSION_REQUIRED: entry('UNAUTHORIZED', 401, 'sign in first'),
  SIGN_IN_FAILED: entry('UNAUTHORIZED', 401, 'wrong user name or password'),
  /** An action without the session's CSRF token, or sent from another site. */
  CSRF_INVALID: entry('DENIED', 403, 'the request lacks a valid CSRF token'),
  /** The user is signed in, but their rights do not include the action. */
  ACTION_DENIED: entry('DENIED', 403, 'your rights do not include this action'),
  REQUEST_INVALID: entry('REQUEST_INVALID', 400, 'malformed request'),
  REQUEST_TOO_LARGE: entry('REQUEST_INVALID', 413, 'request body too large'),
  GC_RUNNING: entry('GC_RUNNING', 409, 'a garbage collection is already running'),
} as const satisfies Record<string, CatalogEntry>;

export type ErrorKind = keyof typeof ERROR_CATALOG;

export class RegistryError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(
    readonly kind: ErrorKind,
    message?: string,
    readonly detail?: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    const catalogued = ERROR_CATALOG[kind];
    super(message ?? catalogued.message);
    this.status = catalogued.status;
    this.code = catalogued.code;
  }

  body(): string {
    const error: ErrorBodyEntry = { code: this.code, message: this.message, detail: this.detail ?? null };
    return JSON.stringify({ errors: [error] });
  }
}
