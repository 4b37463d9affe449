// The web UI as a registry extension: /ui/ serves the app's pages and static bundle,
// /ui/api/ its JSON endpoints (api.ts). The app reads manifests, tags and referrers
// through the /v2 API like any client; `identify` lets the session cookie stand in for
// Basic credentials on those reads (GET and HEAD only: every write goes through an
// action here, with its CSRF token and authorize()).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RegistryError } from '../errors.js';
import type { ExtensionIdentity, ExtensionRequest, RegistryExtension } from '../server.js';
import { UI_PAGES } from './api-types.js';
import { UiApi, type UiApiOptions } from './api.js';
import type { UiAsset, UiAssets } from './assets.js';
import { setSecurityHeaders } from './http.js';
import { SessionStore } from './sessions.js';

export interface UiOptions extends Omit<UiApiOptions, 'sessions'> {
  readonly assets: UiAssets;
  /** Signs sessions: the registry's shared secret, so every worker and replica accepts them. */
  readonly sessionSecret: Buffer;
  readonly sessionTtlMs: number;
}

const PAGES = new Set<string>(UI_PAGES);
const ASSET_PREFIX = '/ui/assets/';
const API_PREFIX = '/ui/api/';

export class UiExtension implements RegistryExtension {
  readonly name = 'ui';
  private readonly api: UiApi;

  constructor(private readonly options: UiOptions) {
    const sessions = new SessionStore({ secret: options.sessionSecret, ttlMs: options.sessionTtlMs, secure: options.secure });
    this.api = new UiApi({ ...options, sessions });
  }

  claims(path: string): boolean {
    return path === '/ui' || path.startsWith('/ui/');
  }

  async identify(req: IncomingMessage): Promise<ExtensionIdentity> {
    const session = await this.api.currentSession(req);
    if (session === 'none' || session === 'invalid') return { kind: session };
    return { kind: 'user', user: session.user };
  }

  async handle({ req, res, method, path, query }: ExtensionRequest): Promise<void> {
    setSecurityHeaders(res);
    if (path.startsWith(API_PREFIX)) {
      const methods = this.api.routes[path];
      if (!methods) throw new RegistryError('NOT_FOUND', 'no such endpoint', { path });
      const handler = Object.prototype.hasOwnProperty.call(methods, method) ? methods[method] : undefined;
      if (!handler) throw new RegistryError('METHOD_UNSUPPORTED', `${method} is not supported here`, { method }, { Allow: Object.keys(methods).join(', ') });
      return handler({ req, res, query });
    }
    if (method !== 'GET' && method !== 'HEAD') throw new RegistryError('METHOD_UNSUPPORTED', `${method} is not supported here`, { method }, { Allow: 'GET, HEAD' });
    if (path === '/ui') {
      res.writeHead(308, { Location: '/ui/', 'Content-Length': 0 });
      res.end();
      return;
    }
    if (path.startsWith(ASSET_PREFIX)) {
      const name = path.slice(ASSET_PREFIX.length);
      const asset = /^[A-Za-z0-9._-]+$/.test(name) ? this.options.assets.file(name) : undefined;
      if (!asset) throw new RegistryError('NOT_FOUND', undefined, { path });
      // Asset names carry a content hash: they never change.
      return sendAsset(req, res, method, asset, 'public, max-age=31536000, immutable');
    }
    if (PAGES.has(path)) return sendAsset(req, res, method, this.options.assets.index, 'no-cache');
    throw new RegistryError('NOT_FOUND', undefined, { path });
  }
}

function sendAsset(req: IncomingMessage, res: ServerResponse, method: string, asset: UiAsset, cacheControl: string): void {
  const gzip = /\bgzip\b/.test(req.headers['accept-encoding'] ?? '');
  // Each encoding is its own representation, with its own validator.
  const etag = gzip ? `${asset.etag.slice(0, -1)}-gz"` : asset.etag;
  const headers: Record<string, string | number> = { 'Content-Type': asset.contentType, ETag: etag, 'Cache-Control': cacheControl, Vary: 'Accept-Encoding' };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const body = gzip ? asset.gzip : asset.body;
  res.writeHead(200, { ...headers, 'Content-Length': body.length, ...(gzip ? { 'Content-Encoding': 'gzip' } : {}) });
  res.end(method === 'HEAD' ? undefined : body);
}
