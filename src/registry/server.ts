// The registry HTTP(S) server: one pass per request through limits, authentication,
// routing, authorization (what the route table says the method needs) and a handler,
// with OCI error bodies for every failure, metrics, health endpoints and one JSON
// access-log line per request.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { StorageUnavailableError } from '../storage/driver/driver.js';
import { SymlinkRefusedError } from '../storage/driver/fs-root.js';
import type { RegistryStorage } from '../storage/types.js';
import type { Action } from './access/actions.js';
import { challengeHeader, type ChallengeRequest } from './access/challenge.js';
import type { Gatekeeper } from './access/gatekeeper.js';
import { principalOf, type Identity } from './access/identity.js';
import { CATALOG_SCOPE, challengeScope } from './token/scope.js';
import type { RegistrySettings, RequestAccess, RequestContext } from './context.js';
import { RegistryError } from './errors.js';
import { HealthCheck } from './health.js';
import { API_VERSION_HEADER, drainBody, hasBody, sendRegistryError } from './http-util.js';
import { AuthFailureLimiter, DEFAULT_LIMITS, DEFAULT_TIMEOUTS, UploadLimiter, type AuthFailureTracker, type LimitSettings, type TimeoutSettings } from './limits.js';
import { RegistryMetrics } from './metrics.js';
import { allowedMethods, handlerFor, route, type AccessNeed, type EndpointKind, type Route } from './router.js';
import { isValidRepositoryName } from '../oci/names.js';
import { UploadStateCodec } from './upload-state.js';
import { listenOn } from '../util/listen.js';

export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** When set, clients must present a certificate signed by this CA (mTLS). */
  readonly clientCa?: Buffer;
  readonly minVersion?: 'TLSv1.2' | 'TLSv1.3';
}

export interface RegistryServerOptions {
  readonly storage: RegistryStorage;
  /** Signs upload state in Locations; replicas that share it can continue each other's uploads. */
  readonly uploadSecret: Buffer;
  readonly logger: Logger;
  /** Who may do what; undefined: no authentication at all (`serve filesystem`). */
  readonly gatekeeper?: Gatekeeper;
  readonly settings?: Partial<RegistrySettings>;
  readonly limits?: Partial<LimitSettings>;
  readonly timeouts?: Partial<TimeoutSettings>;
  readonly tls?: TlsMaterial;
  readonly metrics?: RegistryMetrics;
  /** Shared between worker processes (cluster.ts); default: this process's own. */
  readonly authFailures?: AuthFailureTracker;
  /** How long /readyz answers 503 before the listener closes at shutdown (load balancers drain). */
  readonly drainDelayMs?: number;
  /** Optional features with their own paths beside /v2 (zot's extensions: a UI, a token endpoint). */
  readonly extensions?: readonly RegistryExtension[];
  /**
   * containerd's `?ns=<registry>` says which registry a request was meant for when this
   * one serves as its mirror (hosts.toml). Given that and the repository, the repository
   * that holds it here (a mirror's prefix in front); undefined ignores `ns`, as registry:2 does.
   */
  readonly namespaces?: (ns: string, repository: string) => string | undefined;
}

/** What an extension's handler gets: the request, outside the /v2 API's auth and routing. */
export interface ExtensionRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly log: Logger;
  /**
   * Who sent the request, checked as on /v2 (failure limits, robots, tokens), from its
   * Authorization header or the one given (an OAuth2 password grant's, made up from the
   * form). Failures throw the 401 (or 429) the registry would answer, with a Basic
   * challenge: the caller of an extension signs in with a password.
   */
  identify(authorization?: string): Promise<Identity>;
}

/** Who an extension says a request is, by its own credential (the UI's session cookie). */
export type ExtensionIdentity =
  | { readonly kind: 'none' }
  | { readonly kind: 'user'; readonly user: string }
  /** It carries the extension's credential, but an expired or unknown one. */
  | { readonly kind: 'invalid' };

/**
 * An optional feature served beside the registry API, off unless configured. It claims
 * its own paths (never /v2), authenticates its own requests, and answers them; a thrown
 * RegistryError becomes an OCI error response as anywhere else.
 */
export interface RegistryExtension {
  /** For metrics and logs (`endpoint` label). */
  readonly name: string;
  claims(path: string): boolean;
  handle(request: ExtensionRequest): Promise<void>;
  /**
   * For /v2 reads (GET, HEAD) without an Authorization header: the extension may vouch
   * for the user by its own credential, so a browser app reads the registry through the
   * same API as every client without holding a password.
   */
  identify?(req: IncomingMessage): Promise<ExtensionIdentity>;
}

export const DEFAULT_SETTINGS: RegistrySettings = {
  maxManifestBytes: 4 * 1024 * 1024,
  deleteEnabled: true,
  maxPageSize: 10_000,
  readOnly: false,
  headers: {},
};

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Handlers' view of a registry without authentication: everything is allowed. */
const OPEN_ACCESS: RequestAccess = {
  caller: undefined,
  allows: () => true,
  listable: () => true,
  pullsEverything: true,
  denied: (repository, action) => new RegistryError('DENIED', undefined, { repository, action }),
};

function splitUrl(url: string): { path: string; query: URLSearchParams } {
  // Never normalise the path: `..` and `%2e` must reach the name check untouched.
  const mark = url.indexOf('?');
  return mark < 0 ? { path: url, query: new URLSearchParams() } : { path: url.slice(0, mark), query: new URLSearchParams(url.slice(mark + 1)) };
}

/** Requests that carry blob bytes, counted against the per-client upload limit. */
function isUpload(kind: EndpointKind, method: string, req: IncomingMessage): boolean {
  return (kind === 'upload' || kind === 'upload-start') && method !== 'GET' && method !== 'DELETE' && hasBody(req);
}

export class RegistryServer {
  readonly server: Server;
  readonly metrics: RegistryMetrics;
  readonly health: HealthCheck;
  private readonly settings: RegistrySettings;
  private readonly sockets = new Set<Socket>();
  private readonly socketBytes = new WeakMap<Socket, { read: number; written: number }>();
  private readonly uploads: UploadLimiter;
  private readonly authFailures: AuthFailureTracker;
  private readonly uploadStates: UploadStateCodec;

  constructor(private readonly options: RegistryServerOptions) {
    this.settings = { ...DEFAULT_SETTINGS, ...options.settings };
    this.uploadStates = new UploadStateCodec(options.uploadSecret);
    this.metrics = options.metrics ?? new RegistryMetrics(() => options.storage.gcStatus());
    this.health = new HealthCheck(options.storage);
    const limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.uploads = new UploadLimiter(limits.maxUploadsPerClient);
    this.authFailures = options.authFailures ?? new AuthFailureLimiter(limits);
    const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    const serverOptions = {
      requestTimeout: 0, // uploads may take as long as they keep sending
      headersTimeout: timeouts.headersTimeoutMs,
      keepAliveTimeout: timeouts.keepAliveTimeoutMs,
      // How often Node checks the header timeout; the default 30 s would let slow
      // clients hold sockets far beyond headersTimeout.
      connectionsCheckingInterval: Math.max(250, Math.min(5000, Math.floor(timeouts.headersTimeoutMs / 4))),
    };
    const handler = (req: IncomingMessage, res: ServerResponse): void => void this.handle(req, res);
    this.server = options.tls
      ? createHttpsServer({ ...serverOptions, ...tlsOptions(options.tls) }, handler)
      : createHttpServer(serverOptions, handler);
    this.server.setTimeout(timeouts.idleTimeoutMs, (socket) => socket.destroy());
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    this.server.on('tlsClientError', (error: Error, socket: TLSSocket) => {
      this.options.logger.debug({ err: error.message, remote: socket.remoteAddress }, 'TLS handshake failed');
    });
  }

  /** Swaps certificates (SIGHUP) without dropping connections. */
  reloadTls(material: TlsMaterial): void {
    if (!('setSecureContext' in this.server)) throw new Error('this server was started without TLS');
    (this.server as unknown as { setSecureContext(options: object): void }).setSecureContext(tlsOptions(material));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const method = req.method ?? 'GET';
    const { path, query } = splitUrl(req.url ?? '/');
    const log = this.options.logger;
    // Node sets req.socket to null once a request is destroyed (a body refused midway,
    // such as an oversized chunked manifest), before the response's 'close' handler
    // below runs; it keeps its own reference.
    const socket = req.socket;
    const remote = socket.remoteAddress ?? 'unknown';
    let user: string | undefined;
    let endpointKind = 'other';
    let releaseUpload: (() => void) | undefined;
    for (const [name, value] of Object.entries(this.settings.headers)) res.setHeader(name, value);
    res.setHeader(API_VERSION_HEADER, 'registry/2.0');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.once('close', () => {
      releaseUpload?.();
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const status = res.writableFinished ? res.statusCode : 499;
      this.metrics.requests.inc({ endpoint: endpointKind, method, status: String(status) });
      this.metrics.duration.observe({ endpoint: endpointKind, method }, seconds);
      this.countSocketBytes(socket);
      log.info({ method, path, status, ms: Math.round(seconds * 10_000) / 10, remote, user, length: res.getHeader('content-length') }, 'request');
    });
    try {
      if (path === '/livez' || path === '/readyz') {
        endpointKind = 'health';
        await this.health.respond(path, res);
        return;
      }
      for (const extension of this.options.extensions ?? []) {
        if (!extension.claims(path)) continue;
        endpointKind = extension.name;
        const identify = async (authorization = req.headers.authorization): Promise<Identity> => {
          const identity = await this.identify(req, authorization, remote, path, 'basic');
          user = principalOf(identity);
          return identity;
        };
        await extension.handle({ req, res, method, path, query, log, identify });
        return;
      }
      if (!path.startsWith('/v2')) throw new RegistryError('NOT_FOUND', undefined, { path });
      const gatekeeper = this.options.gatekeeper;
      const identity = gatekeeper ? ((await this.identifyByExtension(req, method)) ?? (await this.identify(req, req.headers.authorization, remote, path, 'registry'))) : undefined;
      user = identity && principalOf(identity);
      const routed = route(path);
      if (!routed.ok) {
        // Callers without credentials learn nothing about paths before they sign in.
        if (identity?.kind === 'anonymous') throw this.unauthorized(req, {});
        if (routed.reason === 'name-invalid') throw new RegistryError('NAME_INVALID', undefined, { name: routed.name });
        throw new RegistryError('NOT_FOUND', 'no such endpoint', { path });
      }
      endpointKind = routed.route.kind;
      // Rights are checked on the repository the request acts on: with ?ns= that is the
      // mirrored one (docker.io/library/nginx), not the name in the path.
      const target = this.inNamespace(routed.route, query.get('ns'));
      const handler = handlerFor(target, method);
      if (!handler) {
        if (identity?.kind === 'anonymous') throw this.unauthorized(req, {});
        throw new RegistryError('METHOD_UNSUPPORTED', `${method} is not supported here`, { method }, { Allow: allowedMethods(routed.route).join(', ') });
      }
      const access = gatekeeper && identity ? this.accessFor(identity, remote, path) : OPEN_ACCESS;
      if (gatekeeper && identity) this.authorize(identity, handler.need, target.params.name ?? '', req, access);
      if (this.settings.readOnly && WRITE_METHODS.has(method)) throw new RegistryError('READ_ONLY');
      if (isUpload(routed.route.kind, method, req)) {
        releaseUpload = this.uploads.acquire(remote);
        if (!releaseUpload) {
          this.metrics.throttled.inc({ reason: 'uploads' });
          throw new RegistryError('TOO_MANY_UPLOADS', undefined, null, { 'Retry-After': '1' });
        }
        this.metrics.uploadsInFlight.inc();
        res.once('close', () => this.metrics.uploadsInFlight.dec());
      }
      const ctx: RequestContext = {
        req,
        res,
        method,
        path,
        query,
        storage: this.options.storage,
        uploadStates: this.uploadStates,
        settings: this.settings,
        log,
        metrics: this.metrics,
        access,
      };
      await handler.run(ctx);
    } catch (error) {
      await this.fail(req, res, method, error);
    }
  }

  /** The route with its repository moved to where `?ns=` says it lives (see `namespaces`). */
  private inNamespace(routed: Route, ns: string | null): Route {
    const name = routed.params.name;
    if (ns === null || ns === '' || name === undefined || !this.options.namespaces) return routed;
    const moved = this.options.namespaces(ns, name);
    if (moved === undefined || moved === name) return routed;
    if (!isValidRepositoryName(moved)) throw new RegistryError('NAME_INVALID', undefined, { name: moved });
    return { ...routed, params: { ...routed.params, name: moved } };
  }

  /**
   * Adds what the socket moved since it was last counted. A request's headers may
   * arrive before the handler runs, so per-request deltas would miss them.
   */
  private countSocketBytes(socket: Socket): void {
    const last = this.socketBytes.get(socket) ?? { read: 0, written: 0 };
    this.metrics.bytesIn.inc(Math.max(0, socket.bytesRead - last.read));
    this.metrics.bytesOut.inc(Math.max(0, socket.bytesWritten - last.written));
    this.socketBytes.set(socket, { read: socket.bytesRead, written: socket.bytesWritten });
  }

  /**
   * The user an extension vouches for on a read without an Authorization header. An
   * expired extension credential is a 401 without the Basic challenge: the caller is a
   * browser app, and a challenge would make the browser prompt for a password itself.
   */
  private async identifyByExtension(req: IncomingMessage, method: string): Promise<Identity | undefined> {
    if (req.headers.authorization !== undefined || (method !== 'GET' && method !== 'HEAD')) return undefined;
    for (const extension of this.options.extensions ?? []) {
      const vouched = (await extension.identify?.(req)) ?? { kind: 'none' };
      if (vouched.kind === 'none') continue;
      // The account's current identity: a robot deleted or expired since sign-in has none.
      const identity = vouched.kind === 'user' ? await this.options.gatekeeper!.accountIdentity(vouched.user) : undefined;
      if (!identity) throw new RegistryError('SESSION_REQUIRED');
      return identity;
    }
    return undefined;
  }

  private challengeRequest(req: IncomingMessage, extra: Omit<ChallengeRequest, 'host' | 'tls'>): ChallengeRequest {
    return { host: req.headers.host, tls: this.options.tls !== undefined, ...extra };
  }

  /** A 401 with the registry's challenge (Basic, or Bearer with the scope the request needs). */
  private unauthorized(req: IncomingMessage, extra: Omit<ChallengeRequest, 'host' | 'tls'>, kind: 'UNAUTHORIZED' | 'ROBOT_EXPIRED' | 'TOKEN_INVALID' = 'UNAUTHORIZED', message?: string): RegistryError {
    const challenge = challengeHeader(this.options.gatekeeper!.challenge, this.challengeRequest(req, extra));
    return new RegistryError(kind, message, null, { 'WWW-Authenticate': challenge });
  }

  /**
   * Who sent the request (anonymous when no credentials came); throws 401 for credentials
   * that do not hold, 429 for an address that keeps failing. `basic`: the challenge is
   * Basic whatever the registry's scheme (the token endpoint takes passwords).
   */
  private async identify(req: IncomingMessage, authorization: string | undefined, remote: string, path: string, challenge: 'registry' | 'basic'): Promise<Identity> {
    const gatekeeper = this.options.gatekeeper;
    if (!gatekeeper) return { kind: 'anonymous' };
    const blockedMs = this.authFailures.blockedFor(remote);
    // A blocked address may still use credentials verified before (cache hits cost no
    // bcrypt); anything that would need a fresh check is refused until the block ends.
    const result = await gatekeeper.identify(authorization, { allowVerify: blockedMs === 0 });
    if (result.ok) return result.identity;
    const refuse = (kind: 'UNAUTHORIZED' | 'ROBOT_EXPIRED' | 'TOKEN_INVALID', message?: string, error?: ChallengeRequest['error']): RegistryError => {
      if (challenge === 'basic') {
        const realm = gatekeeper.challenge.scheme === 'basic' ? gatekeeper.challenge.realm : 'Registry Realm';
        return new RegistryError(kind, message, null, { 'WWW-Authenticate': challengeHeader({ scheme: 'basic', realm }, this.challengeRequest(req, {})) });
      }
      return this.unauthorized(req, error ? { error } : {}, kind, message);
    };
    switch (result.reason) {
      case 'needs-verify':
        this.metrics.throttled.inc({ reason: 'auth-failures' });
        throw new RegistryError('TOO_MANY_AUTH_FAILURES', undefined, null, { 'Retry-After': String(Math.ceil(blockedMs / 1000)) });
      case 'rejected':
        this.metrics.authFailures.inc();
        if (this.authFailures.recordFailure(remote)) log(this.options.logger, remote, path);
        else this.options.logger.warn({ remote, path }, 'authentication failed');
        throw refuse('UNAUTHORIZED');
      case 'robot-expired':
        this.metrics.authFailures.inc();
        this.options.logger.warn({ remote, path, robot: result.robot, expiredAt: result.expiredAt }, 'robot account expired');
        throw refuse('ROBOT_EXPIRED', `robot account ${result.robot} expired at ${result.expiredAt}`);
      case 'token-invalid':
        // Tokens cost no bcrypt and cannot be guessed: they do not count towards the block.
        this.metrics.authFailures.inc();
        this.options.logger.warn({ remote, path, reason: result.detail }, 'token rejected');
        throw refuse('TOKEN_INVALID', undefined, 'invalid_token');
      case 'malformed':
        throw refuse('UNAUTHORIZED');
    }
  }

  /** What handlers may ask about the caller's rights. */
  private accessFor(identity: Identity, remote: string, path: string): RequestAccess {
    const control = this.options.gatekeeper!.control;
    const caller = principalOf(identity);
    return {
      caller,
      allows: (repository, action) => control.decide(identity, repository, action) === 'allow',
      listable: (repository) => control.listable(identity, repository),
      pullsEverything: control.pullsEverything(identity),
      denied: (repository, action, detail = {}) => {
        this.metrics.accessDenied.inc({ action, status: '403' });
        this.options.logger.warn({ remote, user: caller, repository, action, path, ...detail }, 'access denied');
        return new RegistryError('DENIED', `requested access to the resource is denied: ${action} on ${repository}`, { repository, action, ...detail });
      },
    };
  }

  /** Throws the 401 or 403 a request gets when the caller may not do what it needs. */
  private authorize(identity: Identity, need: AccessNeed, repository: string, req: IncomingMessage, access: RequestAccess): void {
    const control = this.options.gatekeeper!.control;
    let decision;
    let scope: string | undefined;
    let action: Action | 'catalog' | undefined;
    if (need.kind === 'base') decision = control.decideBase(identity);
    else if (need.kind === 'catalog') {
      decision = control.decideCatalog(identity);
      scope = CATALOG_SCOPE;
      action = 'catalog';
    } else {
      decision = control.decide(identity, repository, need.action);
      scope = challengeScope(repository, need.action);
      action = need.action;
    }
    if (decision === 'allow') return;
    if (decision === 'deny' && action !== undefined && action !== 'catalog') throw access.denied(repository, action);
    if (identity.kind === 'token' && action !== undefined) {
      // A token without the scope: the client asks its token server again, and may come back.
      this.metrics.accessDenied.inc({ action, status: '401' });
      this.options.logger.info({ user: access.caller, repository: need.kind === 'repository' ? repository : undefined, action, scope }, 'token lacks the scope');
    }
    throw this.unauthorized(req, { ...(scope !== undefined ? { scope } : {}), ...(identity.kind === 'token' ? { error: 'insufficient_scope' as const } : {}) });
  }

  private async fail(req: IncomingMessage, res: ServerResponse, method: string, error: unknown): Promise<void> {
    let registryError: RegistryError;
    if (error instanceof RegistryError) registryError = error;
    else if (error instanceof SymlinkRefusedError) {
      this.options.logger.error({ path: error.relativePath }, 'refused a symlink inside the data directory');
      this.metrics.storageErrors.inc({ code: 'ESYMLINK' });
      registryError = new RegistryError('NOT_FOUND');
    } else if (error instanceof StorageUnavailableError) {
      this.metrics.storageErrors.inc({ code: error.code });
      this.options.logger.error({ err: error.message, method, path: splitUrl(req.url ?? '/').path }, 'storage unavailable');
      registryError = new RegistryError('UNAVAILABLE', undefined, null, { 'Retry-After': '5' });
    } else {
      const code = (error as NodeJS.ErrnoException).code ?? 'UNKNOWN';
      const full = code === 'ENOSPC' || code === 'EDQUOT';
      this.metrics.storageErrors.inc({ code });
      this.options.logger.error(
        { err: error, code, method, path: splitUrl(req.url ?? '/').path },
        full ? 'storage is full: the write was refused and nothing was committed' : 'storage failure',
      );
      registryError = new RegistryError(full ? 'STORAGE_FULL' : 'UNKNOWN');
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    await drainBody(req);
    if (res.headersSent || res.destroyed) return;
    sendRegistryError(res, registryError, method);
  }

  listen(port: number, host: string): Promise<{ host: string; port: number }> {
    return listenOn(this.server, port, host);
  }


  /** Stops accepting, lets in-flight requests finish for up to `graceMs`, then closes. */
  async close(graceMs = 30_000): Promise<void> {
    this.health.shuttingDown = true;
    // /readyz answers 503 from now on, while requests are still served: a load balancer
    // that checks it takes this replica out before its listener goes away.
    if (this.options.drainDelayMs) await new Promise((resolve) => setTimeout(resolve, this.options.drainDelayMs));
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

function log(logger: Logger, remote: string, path: string): void {
  logger.warn({ remote, path }, 'too many failed logins: answering 429 to this address for a while');
}

function tlsOptions(material: TlsMaterial): Record<string, unknown> {
  return {
    cert: material.cert,
    key: material.key,
    ...(material.minVersion ? { minVersion: material.minVersion } : {}),
    ...(material.clientCa ? { ca: material.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
  };
}

