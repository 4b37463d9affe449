// The one route table of the registry API: each row is a path pattern and the handler of
// every method it answers, so what is routed, what is allowed (405 and its Allow header)
// and what runs can never drift apart. Repository names may contain slashes, so each
// pattern anchors on the suffix; the raw (undecoded) path is matched, so `%2e` and
// friends reach the name check as-is and fail it.
import { isValidRepositoryName } from '../oci/names.js';
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

interface RouteRow {
  readonly kind: EndpointKind;
  readonly pattern: RegExp;
  /** Handlers by method; HEAD is listed where GET's handler also answers HEAD. */
  readonly methods: Readonly<Partial<Record<string, Handler>>>;
}

export const ROUTES: readonly RouteRow[] = [
  { kind: 'base', pattern: /^\/v2\/?$/, methods: { GET: handleBase, HEAD: handleBase } },
  { kind: 'catalog', pattern: /^\/v2\/_catalog$/, methods: { GET: handleCatalog, HEAD: handleCatalog } },
  {
    kind: 'tags',
    pattern: /^\/v2\/(?<name>.+)\/tags\/list$/,
    methods: { GET: (ctx, p) => handleTags(ctx, p.name), HEAD: (ctx, p) => handleTags(ctx, p.name) },
  },
  {
    kind: 'manifest',
    pattern: /^\/v2\/(?<name>.+)\/manifests\/(?<reference>[^/]+)$/,
    methods: {
      GET: (ctx, p) => handleManifestGet(ctx, p.name, p.reference),
      HEAD: (ctx, p) => handleManifestGet(ctx, p.name, p.reference),
      PUT: (ctx, p) => handleManifestPut(ctx, p.name, p.reference),
      DELETE: (ctx, p) => handleManifestDelete(ctx, p.name, p.reference),
    },
  },
  {
    kind: 'upload-start',
    pattern: /^\/v2\/(?<name>.+)\/blobs\/uploads\/?$/,
    methods: { POST: (ctx, p) => handleUploadStart(ctx, p.name) },
  },
  {
    kind: 'upload',
    pattern: /^\/v2\/(?<name>.+)\/blobs\/uploads\/(?<id>[^/]+)$/,
    methods: {
      GET: (ctx, p) => handleUploadGet(ctx, p.name, p.id),
      PATCH: (ctx, p) => handleUploadPatch(ctx, p.name, p.id),
      PUT: (ctx, p) => handleUploadPut(ctx, p.name, p.id),
      DELETE: (ctx, p) => handleUploadDelete(ctx, p.name, p.id),
    },
  },
  {
    kind: 'blob',
    pattern: /^\/v2\/(?<name>.+)\/blobs\/(?<digest>[^/]+)$/,
    methods: {
      GET: (ctx, p) => handleBlobGet(ctx, p.name, p.digest),
      HEAD: (ctx, p) => handleBlobGet(ctx, p.name, p.digest),
      DELETE: (ctx, p) => handleBlobDelete(ctx, p.name, p.digest),
    },
  },
  {
    kind: 'referrers',
    pattern: /^\/v2\/(?<name>.+)\/referrers\/(?<digest>[^/]+)$/,
    methods: { GET: (ctx, p) => handleReferrers(ctx, p.name, p.digest), HEAD: (ctx, p) => handleReferrers(ctx, p.name, p.digest) },
  },
];

export interface Route {
  readonly kind: EndpointKind;
  readonly params: RouteParams;
  readonly methods: Readonly<Partial<Record<string, Handler>>>;
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

/** Runs the route's handler for `ctx.method`; undefined when the method is not allowed. */
export function handlerFor(route: Route, method: string): ((ctx: RequestContext) => Promise<void> | void) | undefined {
  const handler = Object.prototype.hasOwnProperty.call(route.methods, method) ? route.methods[method] : undefined;
  if (!handler) return undefined;
  const params = { name: '', reference: '', digest: '', id: '', ...route.params };
  return (ctx) => handler(ctx, params);
}
