// Every request the UI makes: its own endpoints under /ui/api/ and reads of the
// registry's /v2 API (the session cookie authenticates both). The CSRF token lives in
// this module's memory only, never in storage a page script could leave behind.
import {
  CSRF_HEADER,
  type DeleteResult,
  type ErrorBody,
  type GcJob,
  type GcRequest,
  type RepositoryPage,
  type SessionInfo,
  type StorageReport,
  type TagPage,
} from '../../src/registry/ui/api-types';
import { parseManifest, type Descriptor, type Manifest } from './oci';

export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly status: number; readonly code: string; readonly message: string };

let session: SessionInfo | null = null;
const sessionListeners = new Set<(session: SessionInfo | null) => void>();

export function currentSession(): SessionInfo | null {
  return session;
}

export function setSession(next: SessionInfo | null): void {
  session = next;
  for (const listener of sessionListeners) listener(next);
}

export function onSessionChange(listener: (session: SessionInfo | null) => void): () => void {
  sessionListeners.add(listener);
  return () => sessionListeners.delete(listener);
}

const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

async function failure(response: Response): Promise<Result<never>> {
  let code = `HTTP_${response.status}`;
  let message = response.statusText || 'The request failed.';
  try {
    const body = (await response.json()) as ErrorBody;
    const first = body.errors[0];
    if (first) {
      code = first.code;
      message = first.message;
    }
  } catch {
    // Not an error body: keep the status line.
  }
  // An expired session (or a restarted registry) anywhere means: sign in again.
  if (response.status === 401 && session !== null) setSession(null);
  return { ok: false, status: response.status, code, message };
}

async function send(method: string, url: string, options: { body?: unknown; accept?: string; action?: boolean } = {}): Promise<Result<Response>> {
  const headers: Record<string, string> = { Accept: options.accept ?? 'application/json' };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  if (options.action && session) headers[CSRF_HEADER] = session.csrfToken;
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers,
      credentials: 'same-origin',
      cache: 'no-store',
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
  } catch {
    return { ok: false, status: 0, code: 'NETWORK', message: 'The registry cannot be reached. Check that it is running, then retry.' };
  }
  return response.ok ? { ok: true, value: response } : failure(response);
}

async function json<T>(method: string, url: string, options: { body?: unknown; action?: boolean } = {}): Promise<Result<T>> {
  const result = await send(method, url, options);
  if (!result.ok) return result;
  if (result.value.status === 204) return { ok: true, value: undefined as T };
  try {
    return { ok: true, value: (await result.value.json()) as T };
  } catch {
    return { ok: false, status: result.value.status, code: 'BAD_RESPONSE', message: 'The registry sent an unreadable answer.' };
  }
}

/**
 * Answers requested before the app has rendered (the first page's data goes out beside
 * the session check instead of after it), taken once by the page that wants them.
 */
const prefetched = new Map<string, Promise<Result<unknown>>>();

export function prefetch<T>(key: string, load: () => Promise<Result<T>>): void {
  prefetched.set(key, load());
}

export function takePrefetched<T>(key: string): Promise<Result<T>> | undefined {
  const promise = prefetched.get(key);
  prefetched.delete(key);
  return promise as Promise<Result<T>> | undefined;
}

const query = (params: Record<string, string | number>): string => new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)])).toString();

export const api = {
  session: () => json<SessionInfo>('GET', '/ui/api/session'),
  signIn: (user: string, password: string) => json<SessionInfo>('POST', '/ui/api/session', { body: { user, password } }),
  signOut: () => json<undefined>('DELETE', '/ui/api/session', { action: true }),
  repositories: (q: string, offset: number, limit: number) => json<RepositoryPage>('GET', `/ui/api/repositories?${query({ q, offset, limit })}`),
  tags: (name: string, offset: number, limit: number) => json<TagPage>('GET', `/ui/api/tags?${query({ name, offset, limit })}`),
  config: (name: string, digest: string) => json<unknown>('GET', `/ui/api/config?${query({ name, digest })}`),
  storage: (refresh: boolean) => json<StorageReport>('GET', `/ui/api/storage${refresh ? '?refresh=1' : ''}`),
  gc: () => json<{ job: GcJob | null }>('GET', '/ui/api/gc'),
  startGc: (request: GcRequest) => json<{ job: GcJob }>('POST', '/ui/api/actions/gc', { body: request, action: true }),
  deleteTag: (repository: string, tag: string) => json<DeleteResult>('POST', '/ui/api/actions/delete-tag', { body: { repository, tag }, action: true }),
  deleteManifest: (repository: string, digest: string) => json<DeleteResult>('POST', '/ui/api/actions/delete-manifest', { body: { repository, digest }, action: true }),
};

export interface FetchedManifest {
  readonly digest: string;
  readonly mediaType: string;
  /** The bytes as the registry holds them. */
  readonly raw: string;
  readonly manifest: Manifest;
}

/** The registry's own grammar: anything else never goes into a request path. */
const NAME = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const REFERENCE = /^(?:[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}|[a-z0-9]+:[a-f0-9]{32,128})$/;

const notFound = (what: string): Result<never> => ({ ok: false, status: 404, code: 'NAME_INVALID', message: `${what} is not a valid name.` });

/** A manifest through the registry API, as any client reads it. */
export async function fetchManifest(name: string, reference: string): Promise<Result<FetchedManifest>> {
  if (!NAME.test(name)) return notFound('The repository');
  if (!REFERENCE.test(reference)) return notFound('The tag or digest');
  const result = await send('GET', `/v2/${name}/manifests/${reference}`, { accept: MANIFEST_TYPES });
  if (!result.ok) return result;
  const raw = await result.value.text();
  const manifest = parseManifest(raw);
  if (!manifest) return { ok: false, status: 200, code: 'MANIFEST_INVALID', message: 'The registry returned a manifest this page cannot read.' };
  return {
    ok: true,
    value: {
      digest: result.value.headers.get('Docker-Content-Digest') ?? reference,
      mediaType: (result.value.headers.get('Content-Type') ?? '').split(';')[0]!.trim(),
      raw,
      manifest,
    },
  };
}

/** The referrers of `digest` (signatures, SBOMs, attestations) through the registry API. */
export async function fetchReferrers(name: string, digest: string): Promise<Result<Descriptor[]>> {
  if (!NAME.test(name)) return notFound('The repository');
  if (!REFERENCE.test(digest)) return notFound('The digest');
  const result = await send('GET', `/v2/${name}/referrers/${digest}`, { accept: 'application/vnd.oci.image.index.v1+json' });
  if (!result.ok) return result;
  const index = parseManifest(await result.value.text());
  return index && index.kind === 'index' ? { ok: true, value: [...index.manifests] } : { ok: false, status: 200, code: 'BAD_RESPONSE', message: 'The referrers answer is unreadable.' };
}
