// The registry HTTP server: one pass per request through auth, routing and a handler,
// with OCI error bodies for every failure and one JSON access-log line per request.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { SymlinkRefusedError } from '../storage/fs-root.js';
import type { FilesystemStorage } from '../storage/filesystem-storage.js';
import type { BasicAuthenticator } from './auth/basic-auth.js';
import type { RegistrySettings, RequestContext } from './context.js';
import { RegistryError } from './errors.js';
import { handleBase } from './handlers/base.js';
import { handleBlobDelete, handleBlobGet } from './handlers/blobs.js';
import { handleCatalog, handleTags } from './handlers/listing.js';
import { handleManifestDelete, handleManifestGet, handleManifestPut } from './handlers/manifests.js';
import { handleReferrers } from './handlers/referrers.js';
import { handleUploadDelete, handleUploadGet, handleUploadPatch, handleUploadPut, handleUploadStart } from './handlers/uploads.js';
import { API_VERSION_HEADER, sendRegistryError } from './http-util.js';
import { ALLOWED_METHODS, route, type Endpoint } from './router.js';

export interface RegistryServerOptions {
  readonly storage: FilesystemStorage;
  readonly logger: Logger;
  readonly authenticator?: BasicAuthenticator;
  readonly realm?: string;
  readonly settings?: Partial<RegistrySettings>;
  /** Called once per finished request, for metrics. */
  readonly onRequestDone?: (info: RequestInfo) => void;
}

export interface RequestInfo {
  readonly method: string;
  readonly endpoint: string;
  readonly status: number;
  readonly durationMs: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

export const DEFAULT_SETTINGS: RegistrySettings = {
  maxManifestBytes: 4 * 1024 * 1024,
  deleteEnabled: true,
  maxPageSize: 10_000,
};

async function dispatch(ctx: RequestContext, endpoint: Endpoint): Promise<void> {
  const m = ctx.method;
  switch (endpoint.kind) {
    case 'base':
      return handleBase(ctx);
    case 'catalog':
      return handleCatalog(ctx);
    case 'tags':
      return handleTags(ctx, endpoint.name);
    case 'manifest':
      if (m === 'PUT') return handleManifestPut(ctx, endpoint.name, endpoint.reference);
      if (m === 'DELETE') return handleManifestDelete(ctx, endpoint.name, endpoint.reference);
      return handleManifestGet(ctx, endpoint.name, endpoint.reference);
    case 'blob':
      if (m === 'DELETE') return handleBlobDelete(ctx, endpoint.name, endpoint.digest);
      return handleBlobGet(ctx, endpoint.name, endpoint.digest);
    case 'upload-start':
      return handleUploadStart(ctx, endpoint.name);
    case 'upload':
      if (m === 'PATCH') return handleUploadPatch(ctx, endpoint.name, endpoint.id);
      if (m === 'PUT') return handleUploadPut(ctx, endpoint.name, endpoint.id);
      if (m === 'DELETE') return handleUploadDelete(ctx, endpoint.name, endpoint.id);
      return handleUploadGet(ctx, endpoint.name, endpoint.id);
    case 'referrers':
      return handleReferrers(ctx, endpoint.name, endpoint.digest);
  }
}

function splitUrl(url: string): { path: string; query: URLSearchParams } {
  // Never normalise the path: `..` and `%2e` must reach the name check untouched.
  const mark = url.indexOf('?');
  return mark < 0 ? { path: url, query: new URLSearchParams() } : { path: url.slice(0, mark), query: new URLSearchParams(url.slice(mark + 1)) };
}

export class RegistryServer {
  readonly server: Server;
  private readonly settings: RegistrySettings;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly options: RegistryServerOptions) {
    this.settings = { ...DEFAULT_SETTINGS, ...options.settings };
    this.server = createServer({ requestTimeout: 0, headersTimeout: 20_000, keepAliveTimeout: 30_000 }, (req, res) => {
      void this.handle(req, res);
    });
    // A connection that sends nothing for two minutes is dropped (slow or dead clients).
    this.server.setTimeout(120_000, (socket) => socket.destroy());
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const method = req.method ?? 'GET';
    const { path, query } = splitUrl(req.url ?? '/');
    const log = this.options.logger;
    let user: string | undefined;
    let endpointKind = 'unknown';
    res.setHeader(API_VERSION_HEADER, 'registry/2.0');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.once('finish', () => {
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      const info: RequestInfo = {
        method,
        endpoint: endpointKind,
        status: res.statusCode,
        durationMs,
        bytesIn: req.socket.bytesRead,
        bytesOut: req.socket.bytesWritten,
      };
      this.options.onRequestDone?.(info);
      log.info(
        { method, path, status: res.statusCode, ms: Math.round(durationMs * 10) / 10, remote: req.socket.remoteAddress, user, length: res.getHeader('content-length') },
        'request',
      );
    });
    try {
      if (!path.startsWith('/v2')) throw new RegistryError('NOT_FOUND', 'not found', { path }, 404);
      if (this.options.authenticator) {
        const auth = await this.options.authenticator.authenticate(req.headers.authorization);
        if (!auth.ok) {
          if (auth.reason === 'rejected') log.warn({ remote: req.socket.remoteAddress, path }, 'authentication failed');
          throw new RegistryError('UNAUTHORIZED', undefined, null, 401, {
            'WWW-Authenticate': `Basic realm="${this.options.realm ?? 'Registry Realm'}"`,
          });
        }
        user = auth.user;
      }
      const routed = route(path);
      if (!routed.ok) {
        if (routed.reason === 'name-invalid') throw new RegistryError('NAME_INVALID', 'invalid repository name', { name: routed.name });
        throw new RegistryError('NOT_FOUND', 'no such endpoint', { path }, 404);
      }
      endpointKind = routed.endpoint.kind;
      if (!ALLOWED_METHODS[routed.endpoint.kind].includes(method)) {
        throw new RegistryError('UNSUPPORTED', `${method} is not supported here`, { method }, 405, {
          Allow: ALLOWED_METHODS[routed.endpoint.kind].join(', '),
        });
      }
      const ctx: RequestContext = { req, res, method, path, query, storage: this.options.storage, settings: this.settings, log };
      await dispatch(ctx, routed.endpoint);
    } catch (error) {
      this.fail(req, res, method, error);
    }
  }

  private fail(req: IncomingMessage, res: ServerResponse, method: string, error: unknown): void {
    let registryError: RegistryError;
    if (error instanceof RegistryError) registryError = error;
    else if (error instanceof SymlinkRefusedError) {
      this.options.logger.error({ path: error.relativePath }, 'refused a symlink inside the data directory');
      registryError = new RegistryError('NOT_FOUND', 'not found', null, 404);
    } else {
      const code = (error as NodeJS.ErrnoException).code;
      this.options.logger.error({ err: error, method, path: splitUrl(req.url ?? '/').path }, 'storage failure');
      const message = code === 'ENOSPC' ? 'storage is full' : code === 'EDQUOT' ? 'storage quota exceeded' : 'internal storage error';
      registryError = new RegistryError('UNKNOWN', message, null, code === 'ENOSPC' || code === 'EDQUOT' ? 507 : 500);
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // An unread request body would be read and thrown away; closing is cheaper.
    if (!req.complete) res.setHeader('Connection', 'close');
    sendRegistryError(res, registryError, method);
  }

  async listen(port: number, host: string): Promise<{ port: number; host: string }> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('server has no TCP address');
    return { port: address.port, host: address.address };
  }

  /** Stops accepting, lets in-flight requests finish for up to `graceMs`, then closes. */
  async close(graceMs = 30_000): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // Keep-alive connections go idle as their last request ends; close them as they do.
    const sweeper = setInterval(() => this.server.closeIdleConnections(), 100);
    const timer = setTimeout(() => {
      for (const socket of this.sockets) socket.destroy();
    }, graceMs);
    timer.unref();
    try {
      this.server.closeIdleConnections();
      await closed;
    } finally {
      clearInterval(sweeper);
      clearTimeout(timer);
    }
  }
}

