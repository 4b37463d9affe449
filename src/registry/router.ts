// Maps `/v2/...` paths to endpoints. Repository names may contain slashes, so each
// pattern anchors on the suffix; the raw (undecoded) path is matched, so `%2e` and
// friends reach the name check as-is and fail it.
import { isValidRepositoryName } from '../oci/names.js';

export type Endpoint =
  | { readonly kind: 'base' }
  | { readonly kind: 'catalog' }
  | { readonly kind: 'tags'; readonly name: string }
  | { readonly kind: 'manifest'; readonly name: string; readonly reference: string }
  | { readonly kind: 'blob'; readonly name: string; readonly digest: string }
  | { readonly kind: 'upload-start'; readonly name: string }
  | { readonly kind: 'upload'; readonly name: string; readonly id: string }
  | { readonly kind: 'referrers'; readonly name: string; readonly digest: string };

export type RouteResult =
  | { readonly ok: true; readonly endpoint: Endpoint }
  | { readonly ok: false; readonly reason: 'not-found' }
  | { readonly ok: false; readonly reason: 'name-invalid'; readonly name: string };

const PATTERNS: ReadonlyArray<[RegExp, (m: RegExpExecArray) => Endpoint]> = [
  [/^\/v2\/(.+)\/tags\/list$/, (m) => ({ kind: 'tags', name: m[1]! })],
  [/^\/v2\/(.+)\/manifests\/([^/]+)$/, (m) => ({ kind: 'manifest', name: m[1]!, reference: m[2]! })],
  [/^\/v2\/(.+)\/blobs\/uploads\/?$/, (m) => ({ kind: 'upload-start', name: m[1]! })],
  [/^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/, (m) => ({ kind: 'upload', name: m[1]!, id: m[2]! })],
  [/^\/v2\/(.+)\/blobs\/([^/]+)$/, (m) => ({ kind: 'blob', name: m[1]!, digest: m[2]! })],
  [/^\/v2\/(.+)\/referrers\/([^/]+)$/, (m) => ({ kind: 'referrers', name: m[1]!, digest: m[2]! })],
];

export function route(pathname: string): RouteResult {
  if (pathname === '/v2' || pathname === '/v2/') return { ok: true, endpoint: { kind: 'base' } };
  if (pathname === '/v2/_catalog') return { ok: true, endpoint: { kind: 'catalog' } };
  for (const [pattern, build] of PATTERNS) {
    const match = pattern.exec(pathname);
    if (!match) continue;
    const endpoint = build(match);
    if ('name' in endpoint && !isValidRepositoryName(endpoint.name)) {
      return { ok: false, reason: 'name-invalid', name: endpoint.name };
    }
    return { ok: true, endpoint };
  }
  return { ok: false, reason: 'not-found' };
}

/** The methods each endpoint answers; anything else is 405 UNSUPPORTED. */
export const ALLOWED_METHODS: Record<Endpoint['kind'], readonly string[]> = {
  base: ['GET', 'HEAD'],
  catalog: ['GET', 'HEAD'],
  tags: ['GET', 'HEAD'],
  manifest: ['GET', 'HEAD', 'PUT', 'DELETE'],
  blob: ['GET', 'HEAD', 'DELETE'],
  'upload-start': ['POST'],
  upload: ['GET', 'PATCH', 'PUT', 'DELETE'],
  referrers: ['GET', 'HEAD'],
};
