// What every handler receives: the request, the response, the parsed endpoint, and the
// registry's collaborators. Handlers never read configuration on their own.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { RegistryStorage } from '../storage/types.js';
import type { Action } from './access/actions.js';
import type { RegistryError } from './errors.js';
import type { RegistryMetrics } from './metrics.js';
import type { UploadStateCodec } from './upload-state.js';

export interface RegistrySettings {
  /** Manifests larger than this are refused with 413. */
  readonly maxManifestBytes: number;
  /** DELETE of manifests, tags and blobs; registry:2's `storage.delete.enabled`. */
  readonly deleteEnabled: boolean;
  /** Upper bound on `n` for catalog and tag pages. */
  readonly maxPageSize: number;
  /** Refuse every write (maintenance mode: registry:2's storage.maintenance.readonly). */
  readonly readOnly: boolean;
  /** Extra headers on every response (registry:2's http.headers). */
  readonly headers: Readonly<Record<string, string>>;
}

/** What the caller may do, for handlers whose answer depends on it (catalog, mount, tag overwrite). */
export interface RequestAccess {
  /** The caller's name, for logs; undefined for anonymous callers and registries without auth. */
  readonly caller: string | undefined;
  allows(repository: string, action: Action): boolean;
  /** The catalog shows it to the caller. */
  listable(repository: string): boolean;
  /** May pull every repository (no access control, or an admin): a mount without `from` is for them only. */
  readonly pullsEverything: boolean;
  /** Logs and counts a refusal, and returns the 403 DENIED to throw. */
  denied(repository: string, action: Action, detail?: Record<string, string>): RegistryError;
}

export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly storage: RegistryStorage;
  /** Signs and checks the upload state carried in upload Locations. */
  readonly uploadStates: UploadStateCodec;
  readonly settings: RegistrySettings;
  readonly log: Logger;
  readonly metrics: RegistryMetrics;
  readonly access: RequestAccess;
}
