// The contract between the registry's UI endpoints (/ui/api/...) and the browser code
// (ui/src): the server builds these shapes and the UI reads them, both from this one
// file. Pure types and constants, so the browser bundle can import it as well.

/** Paths of the UI's pages; the server answers each with the app's index.html. */
export const UI_PAGES = ['/ui/', '/ui/login', '/ui/repositories', '/ui/repository', '/ui/image', '/ui/storage'] as const;

/** The request header that carries the session's CSRF token on every action. */
export const CSRF_HEADER = 'X-Berth-CSRF';

/** Longest page the list endpoints return. */
export const MAX_PAGE_SIZE = 200;

export interface SessionInfo {
  readonly user: string;
  /** The registry has no authentication: everyone is this anonymous user. */
  readonly anonymous: boolean;
  /** Sent back in the CSRF header with every action; kept in memory only. */
  readonly csrfToken: string;
  readonly expiresAt: string;
}

export interface SignInRequest {
  readonly user: string;
  readonly password: string;
}

export interface RepositorySummary {
  readonly name: string;
  readonly tags: number;
  /** The newest tag write (a push); null for a repository without tags. */
  readonly lastPush: string | null;
  /** Compressed bytes of the distinct blobs its tags reference (manifests, configs, layers). */
  readonly size: number;
}

export interface RepositoryPage {
  /** Repositories matching the search (all of them without one). */
  readonly total: number;
  /** Repositories in the registry. */
  readonly registryTotal: number;
  readonly offset: number;
  readonly limit: number;
  readonly items: readonly RepositorySummary[];
}

export interface TagSummary {
  readonly tag: string;
  readonly digest: string;
  readonly mediaType: string;
  readonly artifactType: string | null;
  /** `os/architecture[/variant]` of the image, or of each manifest in an index. */
  readonly platforms: readonly string[];
  /** Compressed bytes of the distinct blobs the image references. */
  readonly size: number;
  /** From the image config (the newest of an index's images); null when unknown. */
  readonly created: string | null;
  readonly pushed: string;
  /** Other tags of the repository on the same digest (a delete of the digest removes them too). */
  readonly sameDigest: readonly string[];
}

export interface TagPage {
  readonly repository: string;
  readonly total: number;
  readonly offset: number;
  readonly limit: number;
  readonly items: readonly TagSummary[];
  /** The signed-in user may delete here (and deletes are enabled). */
  readonly canDelete: boolean;
}

export interface GcStatusView {
  readonly runs: number;
  readonly bytesFreedTotal: number;
  readonly lastRunEnd: string | null;
  readonly lastRun: { readonly bytesFreed: number; readonly blobsDeleted: number } | null;
}

export interface GcJob {
  readonly id: string;
  readonly state: 'running' | 'done' | 'failed';
  readonly dryRun: boolean;
  readonly deleteUntagged: boolean;
  readonly startedAt: string;
  /** Refreshed while the job runs: a running job whose record went stale died with its process. */
  readonly updatedAt: string;
  readonly finishedAt: string | null;
  readonly bytesFreed: number;
  readonly blobsDeleted: number;
  readonly manifestsRemoved: number;
  readonly error: string | null;
}

export interface GcRequest {
  readonly dryRun: boolean;
  readonly deleteUntagged: boolean;
}

/** One upstream of a pull-through mirror. */
export interface MirrorUpstream {
  /** The mirror's source (docker.io); hits and misses are the mirror's, over all its upstreams. */
  readonly name: string;
  readonly url: string;
  readonly healthy: boolean;
  readonly hits: number;
  readonly misses: number;
  readonly lastError: string | null;
}

export interface StorageReport {
  readonly computedAt: string;
  readonly repositories: number;
  readonly blobs: number;
  readonly bytes: number;
  readonly largest: readonly RepositorySummary[];
  readonly gc: GcStatusView;
  readonly gcJob: GcJob | null;
  readonly canGc: boolean;
  /** null: no mirror configured. */
  readonly mirror: { readonly upstreams: readonly MirrorUpstream[] } | null;
}

export interface DeleteTagRequest {
  readonly repository: string;
  readonly tag: string;
}

export interface DeleteManifestRequest {
  readonly repository: string;
  readonly digest: string;
}

export interface DeleteResult {
  readonly repository: string;
  /** Tags that no longer exist. */
  readonly removedTags: readonly string[];
  readonly digest: string | null;
}

/** Every error answer, as from the /v2 API. */
export interface ErrorBody {
  readonly errors: ReadonlyArray<{ readonly code: string; readonly message: string; readonly detail?: unknown }>;
}
