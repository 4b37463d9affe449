// The shape of one entry of an OCI error body, `{"errors":[{code,message,detail}]}`,
// shared by the registry (which writes it from its catalog, registry/errors.ts) and the
// client (which reads it).

export interface ErrorBodyEntry {
  readonly code: string;
  readonly message: string;
  readonly detail?: unknown;
}
