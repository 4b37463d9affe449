// The one route table of the registry API: each row is a path pattern and, for every
// method it answers, the access it needs and the handler, so what is routed, what is
// allowed (405 and its Allow header), what a caller must be granted and what runs can
// never drift apart. Repository names may contain slashes, so each
// pattern anchors on the suffix; the raw (undecoded) path is matched, so `%2e` and
// friends reach the name check as-is and fail it.
import { isValidRepositoryName } from '../oci/names.js';
import type { Action } from './access/actions.js';
import type { RequestContext } from './context.js';
import { handleBase } from './handlers/base.js';
import { handleBlobDelete, handleBlobGet } from './handlers/blobs.js';
import { handleCatalog, handleTags } from './handlers/listing.js';
import { handleManifestDelete, handleManifestGet, handleManifestPut } from './handlers/manifests.js';
import { handleReferrers } from './handlers/referrers.js';
import { handleUploadDelete, handleUploadGet, handleUploadPatch, handleUploadPut, handleUploadStart } from './handlers/uploads.js';

export type EndpointKind = 'base' | 'catalog' | 'tags' | 'manifest' | 'blob' | 'upload-start' | 'upload' | 'referrers';

/** The path parameters a row captures; `name` is a validated repository name. */
export interface RouteParams {
  readonly name?: string;
  readonly reference?: string;
  readonly digest?: string;
  readonly id?: string;
}

type Handler = (ctx: RequestContext, params: Required<RouteParams>) => Promise<void> | void;

/**
 * What a request must be granted: any valid credential (the version check), the catalog
 * (listed as far as the caller may pull), or an action on the repository in the path.
 */
export type AccessNeed = { readonly kind: 'base' } | { readonly kind: 'catalog' } | { readonly kind: 'repository'; readonly action: Action };

interface MethodRow {
  readonly need: AccessNeed;
  readonly handle: Handler;
}

interface RouteRow {
  readonly kind: EndpointKind;
  readonly pattern: RegExp;
  /** By method; HEAD is listed where GET's handler also answers HEAD. */
  readonly methods: Readonly<Partial<Record<string, MethodRow>>>;
}

const base = (handle: Handler): MethodRow => ({ need: { kind: 'base' }, handle });
const catalog = (handle: Handler): MethodRow => ({ need: { kind: 'catalog' }, handle });
const pull = (handle: Handler): MethodRow => ({ need: { kind: 'repository', action: 'pull' }, handle });
const push = (handle: Handler): MethodRow => ({ need: { kind: 'repository', action: 'push' }, handle });
const remove = (handle: Handler): MethodRow => ({ need: { kind: 'repository', action: 'delete' }, handle });

export const ROUTES: readonly RouteRow[] = [
  { kind: 'base', pattern: /^\/v2\/?$/, methods: { GET: base(handleBase), HEAD: base(handleBase) } },
  { kind: 'catalog', pattern: /^\/v2\/_catalog$/, methods: { GET: catalog(handleCatalog), HEAD: catalog(handleCatalog) } },
  {
    kind: 'tags',
    pattern: /^\/v2\/(?<name>.+)\/tags\/list$/,
    methods: { GET: pull((ctx, p) => handleTags(ctx, p.name)), HEAD: pull((ctx, p) => handleTags(ctx, p.name)) },
  },
  {
    kind: 'manifest',
    pattern: /^\/v2\/(?<name>.+)\/manifests\/(?<reference>[^/]+)$/,
    methods: {
      GET: pull((ctx, p) => handleManifestGet(ctx, p.name, p.reference)),
      HEAD: pull((ctx, p) => handleManifestGet(ctx, p.name, p.reference)),
      PUT: push((ctx, p) => handleManifestPut(ctx, p.name, p.reference)),
      DELETE: remove((ctx, p) => handleManifestDelete(ctx, p.name, p.reference)),
    },
  },
  {
    kind: 'upload-start',
    pattern: /^\/v2\/(?<name>.+)\/blobs\/uploads\/?$/,
    methods: { POST: push((ctx, p) => handleUploadStart(ctx, p.name)) },
  },
  {
    kind: 'upload',
    pattern: /^\/v2\/(?<name>.+)\/blobs\/uploads\/(?<id>[^/]+)$/,
    methods: {
      GET: push((ctx, p) => handleUploadGet(ctx, p.name, p.id)),
      PATCH: push((ctx, p) => handleUploadPatch(ctx, p.name, p.id)),
      PUT: push((ctx, p) => handleUploadPut(ctx, p.name, p.id)),
      DELETE: push((ctx, p) => handleUploadDelete(ctx, p.name, p.id)),
    },
  },
  {
    kind: 'blob',
    pattern: /^\/v2\/(?<name>.+)\/blobs\/(?<digest>[^/]+)$/,
    methods: {
      GET: pull((ctx, p) => handleBlobGet(ctx, p.name, p.digest)),
      HEAD: pull((ctx, p) => handleBlobGet(ctx, p.name, p.digest)),
      DELETE: remove((ctx, p) => handleBlobDelete(ctx, p.name, p.digest)),
    },
  },
  {
    kind: 'referrers',
    pattern: /^\/v2\/(?<name>.+)\/referrers\/(?<digest>[^/]+)$/,
    methods: { GET: pull((ctx, p) => handleReferrers(ctx, p.name, p.digest)), HEAD: pull((ctx, p) => handleReferrers(ctx, p.name, p.digest)) },
  },
];

export interface Route {
  readonly kind: EndpointKind;
  readonly params: RouteParams;
  readonly methods: Readonly<Partial<Record<string, MethodRow>>>;
}

export type RouteResult =
  | { readonly ok: true; readonly route: Route }
  | { readonly ok: false; readonly reason: 'not-found' }
  | { readonly ok: false; readonly reason: 'name-invalid'; readonly name: string };

export function route(pathname: string): RouteResult {
  for (const row of ROUTES) {
    const match = row.pattern.exec(pathname);
    if (!match) continue;
    const params: RouteParams = { ...match.groups };
    if (params.name !== undefined && !isValidRepositoryName(params.name)) return { ok: false, reason: 'name-invalid', name: params.name };
    return { ok: true, route: { kind: row.kind, params, methods: row.methods } };
  }
  return { ok: false, reason: 'not-found' };
}

/** The methods a route answers, for the Allow header of a 405. */
export function allowedMethods(route: Route): string[] {
  return Object.keys(route.methods);
}

export interface BoundHandler {
  readonly need: AccessNeed;
  run(ctx: RequestContext): Promise<void> | void;
}

/** The route's handler for `method`, and the access it needs; undefined when the method is not allowed. */
export function handlerFor(route: Route, method: string): BoundHandler | undefined {
  const row = Object.prototype.hasOwnProperty.call(route.methods, method) ? route.methods[method] : undefined;
  if (!row) return undefined;
  const params = { name: '', reference: '', digest: '', id: '', ...route.params };
  return { need: row.need, run: (ctx) => row.handle(ctx, params) };
}
