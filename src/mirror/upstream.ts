// One upstream registry of a mirror: a registry client with a short connect/header
// timeout, one attempt per request (the mirror moves on to the next upstream rather
// than retrying this one), and a circuit breaker so a dead upstream costs one timeout
// per reset period. Every outcome is a value: found, absent (a definite 404), or a
// failure whose reason decides what the mirror does next.
import type { Readable } from 'node:stream';
import type { Credentials } from '../client/credentials.js';
import { RegistryRequestError, UnauthorizedError } from '../client/errors.js';
import { RegistryClient } from '../client/registry-client.js';
import { HttpTransport } from '../client/transport.js';
import { DigestMismatchError } from '../client/verify-stream.js';
import type { UpstreamSettings } from '../registry/mirror-config.js';
import { CircuitBreaker } from '../util/breaker.js';

export type FailureReason =
  /** Connection refused or reset, a timeout, 5xx or 429: the breaker counts it. */
  | 'unreachable'
  /** It answered, but not with the content: 401, 403, another 4xx. */
  | 'refused'
  /** Bytes that do not match their digest, or a manifest that cannot be read. */
  | 'invalid'
  /** Skipped: its breaker is open after repeated failures. */
  | 'breaker-open';

export interface UpstreamFailure {
  readonly kind: 'failed';
  readonly reason: FailureReason;
  /** One line naming the upstream; never a credential. */
  readonly message: string;
}

export type UpstreamAnswer<T> = { readonly kind: 'found'; readonly value: T } | { readonly kind: 'absent' } | UpstreamFailure;

export interface UpstreamOptions {
  readonly settings: UpstreamSettings;
  readonly credentials: Credentials | undefined;
  /** PEM CAs to trust (the settings' caFile, read by the composition root). */
  readonly ca: Buffer | undefined;
  readonly userAgent: string;
  readonly onBreakerChange?: (open: boolean) => void;
}

export interface UpstreamBlob {
  /** Errors at its end when the bytes do not match the digest asked for. */
  readonly stream: Readable;
  /** From Content-Length; undefined when the upstream did not say. */
  readonly size: number | undefined;
}

export class Upstream {
  /** The URL, for logs, errors and metric labels (it never carries credentials). */
  readonly url: string;
  private readonly client: RegistryClient;
  private readonly transport: HttpTransport;
  private readonly breaker: CircuitBreaker;

  constructor(options: UpstreamOptions) {
    this.url = options.settings.url;
    const { settings } = options;
    this.transport = new HttpTransport({
      tls: { ...(options.ca ? { ca: options.ca } : {}), insecureSkipVerify: settings.insecure },
      timeoutMs: settings.timeoutMs,
      idleTimeoutMs: settings.readTimeoutMs,
      userAgent: options.userAgent,
      // Many blobs stream at once; a request waiting for a socket would spend its
      // header timeout in the queue and be taken for a dead upstream.
      maxSockets: 256,
    });
    const credentials = options.credentials;
    this.client = new RegistryClient({
      registry: settings.url,
      transport: this.transport,
      attempts: 1,
      ...(credentials ? { credentials: () => credentials } : {}),
    });
    this.breaker = new CircuitBreaker(settings.breaker, (state) => options.onBreakerChange?.(state === 'open'));
  }

  /** false while its breaker skips it after repeated failures. */
  get healthy(): boolean {
    return this.breaker.state !== 'open';
  }

  /** The digest a tag (or digest) has upstream. */
  headManifest(repository: string, reference: string): Promise<UpstreamAnswer<string>> {
    return this.call(async () => (await this.client.headManifest(repository, reference))?.digest);
  }

  /** A manifest by digest, verified against it. */
  getManifest(repository: string, digest: string): Promise<UpstreamAnswer<{ bytes: Buffer; mediaType: string }>> {
    return this.call(async () => {
      const fetched = await this.client.getManifest(repository, digest);
      return fetched && { bytes: fetched.bytes, mediaType: fetched.mediaType };
    });
  }

  headBlob(repository: string, digest: string): Promise<UpstreamAnswer<number>> {
    return this.call(() => this.client.headBlob(repository, digest));
  }

  /** The blob's response, once its headers are in; the body is verified as it streams. */
  getBlob(repository: string, digest: string): Promise<UpstreamAnswer<UpstreamBlob>> {
    return this.call(async () => {
      try {
        const { stream, size } = await this.client.getBlob(repository, digest);
        return { stream, size: size >= 0 ? size : undefined };
      } catch (error) {
        if (error instanceof RegistryRequestError && error.status === 404) return undefined;
        throw error;
      }
    });
  }

  /** A body that failed midway (or did not match its digest) is this upstream's failure too. */
  recordStreamFailure(error: unknown): UpstreamFailure {
    const failure = this.classify(error);
    if (failure.reason === 'unreachable' || failure.reason === 'invalid') this.breaker.failure();
    return failure;
  }

  close(): void {
    this.client.close();
    this.transport.close();
  }

  private async call<T>(work: () => Promise<T | undefined>): Promise<UpstreamAnswer<T>> {
    if (!this.breaker.tryAcquire()) {
      const retryAt = this.breaker.retryAt();
      const wait = retryAt === undefined ? '' : ` for ${Math.max(0, Math.ceil((retryAt - Date.now()) / 1000))} s more`;
      return { kind: 'failed', reason: 'breaker-open', message: `${this.url}: skipped after repeated failures${wait}` };
    }
    try {
      const value = await work();
      this.breaker.success();
      return value === undefined ? { kind: 'absent' } : { kind: 'found', value };
    } catch (error) {
      const failure = this.classify(error);
      // Only silence or server trouble means "down"; an upstream that answers 401 is alive.
      if (failure.reason === 'unreachable') this.breaker.failure();
      else this.breaker.success();
      return failure;
    }
  }

  private classify(error: unknown): UpstreamFailure {
    const text = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    const message = `${this.url}: ${code && !text.includes(code) ? `${code}: ` : ''}${text}`;
    if (error instanceof DigestMismatchError) return { kind: 'failed', reason: 'invalid', message };
    if (error instanceof UnauthorizedError) return { kind: 'failed', reason: 'refused', message };
    if (error instanceof RegistryRequestError) {
      const status = error.status;
      if (status === undefined || status >= 500 || status === 429) return { kind: 'failed', reason: 'unreachable', message };
      // A 200 whose manifest did not match the digest asked for.
      return { kind: 'failed', reason: status === 200 ? 'invalid' : 'refused', message };
    }
    // Connection failures, timeouts, TLS trouble: nothing usable came back.
    return { kind: 'failed', reason: 'unreachable', message };
  }
}
