// What every handler receives: the request, the response, the parsed endpoint, and the
// registry's collaborators. Handlers never read configuration on their own.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { FilesystemStorage } from '../storage/filesystem-storage.js';
import type { RegistryMetrics } from './metrics.js';

export interface RegistrySettings {
  /** Manifests larger than this are refused with 413. */
  readonly maxManifestBytes: number;
  /** DELETE of manifests, tags and blobs; registry:2's `storage.delete.enabled`. */
  readonly deleteEnabled: boolean;
  /** Upper bound on `n` for catalog and tag pages. */
  readonly maxPageSize: number;
}

export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly storage: FilesystemStorage;
  readonly settings: RegistrySettings;
  readonly log: Logger;
  readonly metrics: RegistryMetrics;
}
