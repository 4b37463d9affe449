// A client for one registry over the Distribution API: ping and login checks, manifests
// and blobs (read, push with mount, delete), tags, catalog and referrers. Requests that
// fail with 5xx, 429 or a reset connection are retried with backoff when replayable.
import { createHash } from 'node:crypto';
import type { LookupFunction } from 'node:net';
import type { Readable } from 'node:stream';
import { parseDigest, type Digest } from '../oci/digest.js';
import { MANIFEST_MEDIA_TYPES } from '../oci/media-types.js';
import { Authorizer } from './authorizer.js';
import type { CredentialSource } from './credentials.js';
import { resolveEndpoint, type RegistryEndpoint } from './endpoint.js';
import { RegistryRequestError, UnauthorizedError, describeFailure, parseErrorBody, speaksNoTls } from './errors.js';
import { HttpTransport, readAll, type HttpResponse, type RequestOptions, type TlsOptions } from './transport.js';
import { verifyDigestStream } from './verify-stream.js';

export interface RegistryClientOptions {
  /** Registry name or URL: `sealos.hub:5000`, `http://10.0.0.1:5000`, `docker.io`. */
  readonly registry: string;
  readonly plainHttp?: boolean;
  /**
   * Docker's insecure registry: https without certificate checks, and plain http when
   * the server does not speak TLS at all. Chosen explicitly by the user, per registry.
   */
  readonly insecure?: boolean;
  readonly tls?: TlsOptions;
  readonly credentials?: CredentialSource;
  readonly timeoutMs?: number;
  /** Attempts for retryable failures (1 = no retry). */
  readonly attempts?: number;
  readonly retryDelayMs?: number;
  readonly userAgent?: string;
  readonly transport?: HttpTransport;
  /** Name resolution for connections (see hosts-file.ts); default: the system's. */
  readonly lookup?: LookupFunction;
}

export interface ManifestHead {
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
}

export interface FetchedManifest {
  readonly digest: string;
  readonly mediaType: string;
  readonly bytes: Buffer;
}

export type PushBlobOutcome = 'exists' | 'mounted' | 'uploaded';

export type BlobOpener = () => Promise<Readable> | Readable;

type Body = Buffer | BlobOpener | undefined;

interface SendOptions {
  readonly scopes: readonly string[];
  readonly headers?: Record<string, string>;
  readonly body?: Body;
  readonly followRedirects?: boolean;
  readonly timeoutMs?: number;
  /** Retry on transient failures; off for requests that must not repeat. */
  readonly retry?: boolean;
}

const MANIFEST_ACCEPT = MANIFEST_MEDIA_TYPES.join(', ');
const RETRYABLE_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'EAI_AGAIN', 'UND_ERR_SOCKET']);

export function pullScope(repository: string): string {
  return `repository:${repository}:pull`;
}
export function pushScope(repository: string): string {
  return `repository:${repository}:pull,push`;
}

export class RegistryClient {
  endpoint: RegistryEndpoint;
  private readonly transport: HttpTransport;
  private readonly ownsTransport: boolean;
  private readonly authorizer: Authorizer;

  constructor(private readonly options: RegistryClientOptions) {
    this.endpoint = resolveEndpoint(options.registry, { plainHttp: options.plainHttp ?? false });
    this.ownsTransport = !options.transport;
    this.transport =
      options.transport ??
      new HttpTransport({
        tls: { ...options.tls, ...(options.insecure ? { insecureSkipVerify: true } : {}) },
        timeoutMs: options.timeoutMs ?? 30_000,
        userAgent: options.userAgent ?? 'berth',
        ...(options.lookup ? { lookup: options.lookup } : {}),
      });
    this.authorizer = new Authorizer(this.transport, options.credentials);
  }

  close(): void {
    if (this.ownsTransport) this.transport.close();
  }

  private url(path: string): URL {
    return new URL(path, this.endpoint.baseUrl);
  }

  /**
   * One HTTP exchange. For an insecure registry that turns out not to speak TLS, the
   * endpoint switches to plain http once and the request goes again.
   */
  private async exchange(method: string, target: URL, options: RequestOptions): Promise<HttpResponse> {
    const current = target.host === this.endpoint.baseUrl.host && target.protocol !== this.endpoint.baseUrl.protocol ? withProtocol(target, this.endpoint.baseUrl.protocol) : target;
    try {
      return await this.transport.request(method, current, options);
    } catch (error) {
      if (!this.options.insecure || current.protocol !== 'https:' || current.host !== this.endpoint.baseUrl.host || !speaksNoTls(error)) throw error;
      this.endpoint = { ...this.endpoint, baseUrl: withProtocol(this.endpoint.baseUrl, 'http:') };
      return this.transport.request(method, withProtocol(current, 'http:'), options);
    }
  }

  /** One request with auth challenges answered and transient failures retried. */
  private async send(method: string, target: URL, options: SendOptions): Promise<HttpResponse> {
    const attempts = options.retry === false ? 1 : (this.options.attempts ?? 3);
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const response = await this.sendAuthorized(method, target, options);
        const retryable = response.status >= 500 || response.status === 429;
        if (!retryable || attempt === attempts || !isReplayable(options.body)) return response;
        response.body.resume();
        lastError = new RegistryRequestError(`HTTP ${response.status}`, response.status);
      } catch (error) {
        lastError = error;
        const code = (error as NodeJS.ErrnoException).code;
        if (error instanceof UnauthorizedError || !RETRYABLE_CODES.has(code ?? '') || attempt === attempts || !isReplayable(options.body)) throw error;
      }
      await delay((this.options.retryDelayMs ?? 250) * 2 ** (attempt - 1));
    }
    throw lastError;
  }

  private async sendAuthorized(method: string, target: URL, options: SendOptions): Promise<HttpResponse> {
    let authorization = await this.authorizer.header(options.scopes);
    for (let round = 0; round < 2; round++) {
      const headers = { ...options.headers, ...(authorization ? { Authorization: authorization } : {}) };
      const body = typeof options.body === 'function' ? await options.body() : options.body;
      const response = await this.exchange(method, target, {
        headers,
        ...(body !== undefined ? { body } : {}),
        followRedirects: options.followRedirects ?? (method === 'GET' || method === 'HEAD'),
        ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      });
      if (response.status !== 401 || round === 1 || !isReplayable(options.body)) {
        if (response.status === 401) {
          const errors = parseErrorBody(method === 'HEAD' ? undefined : await readAll(response.body, 65536));
          throw new UnauthorizedError(`${this.endpoint.name}: unauthorized (authentication required or credentials rejected)`, 401, errors);
        }
        return response;
      }
      response.body.resume();
      authorization = await this.authorizer.answer(response.headers['www-authenticate'], options.scopes, authorization, target);
    }
    throw new Error('unreachable');
  }

  private async failure(response: HttpResponse, what: string): Promise<RegistryRequestError> {
    const body = await readAll(response.body, 65536).catch(() => undefined);
    const errors = parseErrorBody(body);
    return new RegistryRequestError(`${what}: ${describeFailure(response.status, errors, response.url.href)}`, response.status, errors);
  }

  /** GET /v2/ without credentials: is something registry-shaped answering? */
  async ping(): Promise<{ status: number; challenge: string | undefined }> {
    const response = await this.exchange('GET', this.url('/v2/'), { followRedirects: true });
    response.body.resume();
    return { status: response.status, challenge: response.headers['www-authenticate'] };
  }

  /** Checks that the credentials are accepted (what `login` does before saving them). */
  async checkLogin(): Promise<void> {
    const response = await this.send('GET', this.url('/v2/'), { scopes: [] });
    response.body.resume();
    if (response.status !== 200) throw await this.failure(response, 'login check');
  }

  async headManifest(repository: string, reference: string): Promise<ManifestHead | undefined> {
    const response = await this.send('HEAD', this.url(`/v2/${repository}/manifests/${reference}`), {
      scopes: [pullScope(repository)],
      headers: { Accept: MANIFEST_ACCEPT },
    });
    response.body.resume();
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw await this.failure(response, `manifest ${repository}:${reference}`);
    const digest = header(response, 'docker-content-digest');
    if (!digest) {
      // Without the header a HEAD cannot tell the digest; a GET can.
      const fetched = await this.getManifest(repository, reference);
      return fetched && { digest: fetched.digest, mediaType: fetched.mediaType, size: fetched.bytes.length };
    }
    return { digest, mediaType: header(response, 'content-type') ?? '', size: Number(header(response, 'content-length') ?? 0) };
  }

  async getManifest(repository: string, reference: string): Promise<FetchedManifest | undefined> {
    const response = await this.send('GET', this.url(`/v2/${repository}/manifests/${reference}`), {
      scopes: [pullScope(repository)],
      headers: { Accept: MANIFEST_ACCEPT },
    });
    if (response.status === 404) {
      response.body.resume();
      return undefined;
    }
    if (response.status !== 200) throw await this.failure(response, `manifest ${repository}:${reference}`);
    const bytes = await readAll(response.body, 8 * 1024 * 1024);
    const claimed = parseDigest(reference) ?? parseDigest(header(response, 'docker-content-digest') ?? '');
    const algorithm = claimed?.algorithm ?? 'sha256';
    const digest = `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
    if (parseDigest(reference) && digest !== reference) {
      throw new RegistryRequestError(`manifest ${repository}@${reference}: content has digest ${digest}`, 200);
    }
    return { digest, mediaType: (header(response, 'content-type') ?? '').split(';')[0]!.trim(), bytes };
  }

  async putManifest(repository: string, reference: string, bytes: Buffer, mediaType: string): Promise<string> {
    const response = await this.send('PUT', this.url(`/v2/${repository}/manifests/${reference}`), {
      scopes: [pushScope(repository)],
      headers: { 'Content-Type': mediaType },
      body: bytes,
    });
    if (response.status !== 201 && response.status !== 200) throw await this.failure(response, `push manifest ${repository}:${reference}`);
    response.body.resume();
    return header(response, 'docker-content-digest') ?? `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  }

  /** false when the registry did not have it. */
  async deleteManifest(repository: string, digestOrTag: string): Promise<boolean> {
    const response = await this.send('DELETE', this.url(`/v2/${repository}/manifests/${digestOrTag}`), {
      scopes: [`repository:${repository}:delete`, pushScope(repository)],
    });
    if (response.status === 404) {
      response.body.resume();
      return false;
    }
    if (response.status !== 202 && response.status !== 200 && response.status !== 204) throw await this.failure(response, `delete ${repository}@${digestOrTag}`);
    response.body.resume();
    return true;
  }

  /** The blob's size, or undefined when the repository does not have it. */
  async headBlob(repository: string, digest: string): Promise<number | undefined> {
    const response = await this.send('HEAD', this.url(`/v2/${repository}/blobs/${digest}`), { scopes: [pullScope(repository)] });
    response.body.resume();
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw await this.failure(response, `blob ${digest}`);
    return Number(header(response, 'content-length') ?? 0);
  }

  /** A stream of the blob that fails at its end if the bytes do not match `digest`. */
  async getBlob(repository: string, digest: string): Promise<{ stream: Readable; size: number }> {
    const parsed = parseDigest(digest);
    if (!parsed) throw new RegistryRequestError(`invalid digest ${digest}`, undefined);
    const response = await this.send('GET', this.url(`/v2/${repository}/blobs/${digest}`), { scopes: [pullScope(repository)] });
    if (response.status !== 200) throw await this.failure(response, `blob ${repository}@${digest}`);
    return { stream: verifyDigestStream(response.body, parsed), size: Number(header(response, 'content-length') ?? -1) };
  }

  /**
   * Pushes a blob unless the repository has it: a cross-repository mount when
   * `mountFrom` is given, else a monolithic upload (or chunks of `chunkSize`).
   */
  async pushBlob(
    repository: string,
    digest: string,
    size: number,
    open: BlobOpener,
    options: { mountFrom?: string; chunkSize?: number } = {},
  ): Promise<PushBlobOutcome> {
    if ((await this.headBlob(repository, digest)) !== undefined) return 'exists';
    const scopes = [pushScope(repository), ...(options.mountFrom ? [pullScope(options.mountFrom)] : [])];
    const start = this.url(`/v2/${repository}/blobs/uploads/`);
    if (options.mountFrom) {
      start.searchParams.set('mount', digest);
      start.searchParams.set('from', options.mountFrom);
    }
    const started = await this.send('POST', start, { scopes, headers: { 'Content-Length': '0' } });
    started.body.resume();
    if (started.status === 201 && options.mountFrom) return 'mounted';
    if (started.status !== 202) throw await this.failure(started, `start upload of ${digest}`);
    let location = uploadLocation(started, start);
    if (options.chunkSize !== undefined && size > options.chunkSize) {
      location = await this.patchChunks(repository, location, size, open, options.chunkSize);
      const finish = withDigest(location, digest);
      const done = await this.send('PUT', finish, { scopes, headers: { 'Content-Length': '0' }, retry: false });
      if (done.status !== 201) throw await this.failure(done, `finish upload of ${digest}`);
      done.body.resume();
      return 'uploaded';
    }
    const finish = withDigest(location, digest);
    const done = await this.send('PUT', finish, {
      scopes,
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) },
      body: open,
      retry: false,
    });
    if (done.status !== 201) throw await this.failure(done, `upload of ${digest}`);
    done.body.resume();
    return 'uploaded';
  }

  private async patchChunks(repository: string, location: URL, size: number, open: BlobOpener, chunkSize: number): Promise<URL> {
    const source = await open();
    let offset = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async (): Promise<void> => {
      const chunk = Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      const response = await this.send('PATCH', location, {
        scopes: [pushScope(repository)],
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${offset}-${offset + chunk.length - 1}`, 'Content-Length': String(chunk.length) },
        body: chunk,
        retry: false,
      });
      if (response.status !== 202) throw await this.failure(response, 'upload chunk');
      response.body.resume();
      offset += chunk.length;
      location = uploadLocation(response, location);
    };
    for await (const data of source) {
      let buffer = data as Buffer;
      while (buffer.length > 0) {
        const take = Math.min(buffer.length, chunkSize - pendingBytes);
        pending.push(buffer.subarray(0, take));
        pendingBytes += take;
        buffer = buffer.subarray(take);
        if (pendingBytes === chunkSize) await flush();
      }
    }
    if (pendingBytes > 0) await flush();
    if (offset !== size) throw new RegistryRequestError(`blob source gave ${offset} bytes, expected ${size}`, undefined);
    return location;
  }

  async deleteBlob(repository: string, digest: string): Promise<boolean> {
    const response = await this.send('DELETE', this.url(`/v2/${repository}/blobs/${digest}`), { scopes: [`repository:${repository}:delete`, pushScope(repository)] });
    response.body.resume();
    if (response.status === 404) return false;
    if (response.status !== 202 && response.status !== 204) throw await this.failure(response, `delete blob ${digest}`);
    return true;
  }

  /** All tags, following `Link` pagination. undefined when the repository is unknown. */
  async listTags(repository: string, pageSize = 1000): Promise<string[] | undefined> {
    const collected = await this.paginate(`/v2/${repository}/tags/list?n=${pageSize}`, [pullScope(repository)], 'tags');
    return collected;
  }

  /** Every repository in the catalog, following `Link` pagination. */
  async catalog(pageSize = 1000): Promise<string[]> {
    return (await this.paginate(`/v2/_catalog?n=${pageSize}`, ['registry:catalog:*'], 'repositories')) ?? [];
  }

  private async paginate(first: string, scopes: readonly string[], field: 'tags' | 'repositories'): Promise<string[] | undefined> {
    const items: string[] = [];
    let next: URL | undefined = this.url(first);
    for (let page = 0; next && page < 100_000; page++) {
      const response = await this.send('GET', next, { scopes });
      if (response.status === 404 && page === 0) {
        response.body.resume();
        return undefined;
      }
      if (response.status !== 200) throw await this.failure(response, `list ${field}`);
      const body = JSON.parse((await readAll(response.body)).toString('utf8')) as Record<string, unknown>;
      const values = body[field];
      if (Array.isArray(values)) for (const value of values) if (typeof value === 'string') items.push(value);
      const link = /<([^>]+)>\s*;\s*rel="?next"?/i.exec(header(response, 'link') ?? '');
      next = link ? new URL(link[1]!, this.endpoint.baseUrl) : undefined;
    }
    return items;
  }

  /** The referrers index of `digest`, optionally filtered by artifact type. */
  async referrers(repository: string, digest: string, artifactType?: string): Promise<Array<{ digest: string; mediaType: string; artifactType?: string }>> {
    const target = this.url(`/v2/${repository}/referrers/${digest}`);
    if (artifactType) target.searchParams.set('artifactType', artifactType);
    const response = await this.send('GET', target, { scopes: [pullScope(repository)] });
    if (response.status !== 200) throw await this.failure(response, `referrers of ${digest}`);
    const index = JSON.parse((await readAll(response.body)).toString('utf8')) as { manifests?: Array<{ digest: string; mediaType: string; artifactType?: string }> };
    return index.manifests ?? [];
  }
}

function withProtocol(url: URL, protocol: string): URL {
  const copy = new URL(url);
  copy.protocol = protocol;
  return copy;
}

function header(response: HttpResponse, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function uploadLocation(response: HttpResponse, base: URL): URL {
  const location = header(response, 'location');
  if (!location) throw new RegistryRequestError('registry sent no upload Location', response.status);
  return new URL(location, base);
}

function withDigest(location: URL, digest: string): URL {
  const url = new URL(location);
  url.searchParams.set('digest', digest);
  return url;
}

function isReplayable(body: Body): boolean {
  return body === undefined || Buffer.isBuffer(body) || typeof body === 'function';
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export type { Digest };
