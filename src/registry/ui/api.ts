// The UI's JSON endpoints under /ui/api/: sign-in and sign-out, the read-only views the
// /v2 API cannot give (summaries, sizes, storage use, image configs), and the actions
// (deletes, GC). Every action needs the session's CSRF token from this origin and
// passes through the account's rights; reads of a repository ask them for `pull`.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { parseDigest } from '../../oci/digest.js';
import { isValidRepositoryName, isValidTag } from '../../oci/names.js';
import type { GcReport } from '../../storage/gc.js';
import type { RegistryStorage } from '../../storage/types.js';
import type { BlobStoreUsage } from '../../storage/usage.js';
import { SingleFlight } from '../../util/single-flight.js';
import { ALL_RIGHTS, type Action, type Rights, type RightsOf } from '../auth/authorize.js';
import type { BasicAuthenticator } from '../auth/basic-auth.js';
import { RegistryError } from '../errors.js';
import type { AuthFailureTracker } from '../limits.js';
import {
  CSRF_HEADER,
  MAX_PAGE_SIZE,
  type DeleteResult,
  type GcRequest,
  type RepositoryPage,
  type RepositorySummary,
  type SessionInfo,
  type StorageReport,
  type TagPage,
  type TagSummary,
} from './api-types.js';
import { GcRunner, type JobRecord } from './gc-runner.js';
import { assertSameOrigin, booleanField, integerParam, readJsonObject, sendUiJson, stringField } from './http.js';
import { csrfMatches, SessionStore, type Session } from './sessions.js';

/** A live session with what its account may do right now. */
export interface ActiveSession extends Session {
  readonly rights: Rights;
}
import { ImageSummaries, readJsonBlob } from './summaries.js';

/** What the UI may run on the storage beyond the RegistryStorage interface. */
export interface UiMaintenance {
  collectGarbage(request: GcRequest): Promise<GcReport>;
  blobStoreUsage(): Promise<BlobStoreUsage>;
  /** Where the UI's GC job is recorded, readable by every process serving the storage. */
  readonly gcJob: JobRecord;
}

export interface UiApiOptions {
  readonly storage: RegistryStorage;
  readonly maintenance: UiMaintenance;
  /** undefined: the registry has no authentication, and neither has the UI. */
  readonly authenticator: BasicAuthenticator | undefined;
  /** What a signed-in account may do (the access-control policy, looked up per request). */
  readonly rights: RightsOf;
  readonly sessions: SessionStore;
  /** The UI is served over TLS (same-origin checks expect https). */
  readonly secure: boolean;
  /** Rejected passwords, counted with the API's (and across workers). */
  readonly authFailures: AuthFailureTracker;
  readonly deleteEnabled: boolean;
  readonly readOnly: boolean;
  /** Upstream health of a pull-through mirror; undefined while none is configured. */
  readonly mirror?: () => Promise<NonNullable<StorageReport['mirror']>>;
  readonly log: Logger;
}

interface ApiRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly query: URLSearchParams;
}

type ApiHandler = (request: ApiRequest) => Promise<void>;

const DEFAULT_PAGE_SIZE = 50;
const ANONYMOUS = 'anonymous';
/** How long the storage page's registry-wide figures are reused. */
const STORAGE_REPORT_MAX_AGE_MS = 30_000;
const LARGEST_SHOWN = 10;

interface StorageFigures {
  readonly at: number;
  readonly usage: BlobStoreUsage;
  /** Every repository's summary, largest first. */
  readonly bySize: readonly RepositorySummary[];
}

export class UiApi {
  readonly routes: Readonly<Record<string, Readonly<Partial<Record<string, ApiHandler>>>>>;
  private readonly summaries: ImageSummaries;
  private readonly gc: GcRunner;
  private readonly figuresFlight = new SingleFlight<StorageFigures>();
  private figures: StorageFigures | undefined;

  constructor(private readonly options: UiApiOptions) {
    this.summaries = new ImageSummaries(options.storage);
    this.gc = new GcRunner((request) => options.maintenance.collectGarbage(request), options.maintenance.gcJob, options.log, () => this.invalidate());
    this.routes = {
      '/ui/api/session': { GET: (r) => this.session(r), POST: (r) => this.signIn(r), DELETE: (r) => this.signOut(r) },
      '/ui/api/repositories': { GET: (r) => this.repositories(r) },
      '/ui/api/tags': { GET: (r) => this.tags(r) },
      '/ui/api/config': { GET: (r) => this.config(r) },
      '/ui/api/storage': { GET: (r) => this.storageReport(r) },
      '/ui/api/gc': { GET: (r) => this.gcState(r) },
      '/ui/api/actions/delete-tag': { POST: (r) => this.deleteTag(r) },
      '/ui/api/actions/delete-manifest': { POST: (r) => this.deleteManifest(r) },
      '/ui/api/actions/gc': { POST: (r) => this.startGc(r) },
    };
  }

  // ---- sessions ------------------------------------------------------------------

  /** The request's live session; SESSION_REQUIRED otherwise. */
  async requireSession(req: IncomingMessage): Promise<ActiveSession> {
    const found = await this.currentSession(req);
    if (found === 'none' || found === 'invalid') throw new RegistryError('SESSION_REQUIRED');
    return found;
  }

  /**
   * The request's session, checked against the account's current credentials and rights:
   * a changed password, a removed user, or a robot deleted or expired ends it.
   */
  async currentSession(req: IncomingMessage): Promise<ActiveSession | 'none' | 'invalid'> {
    const found = this.options.sessions.fromRequest(req);
    if (typeof found === 'string') return found;
    if (found.anonymous) return this.options.authenticator ? 'invalid' : { ...found, rights: ALL_RIGHTS };
    const credential = await this.options.authenticator?.storedCredential(found.user);
    if (credential === undefined || this.options.sessions.stamp(credential) !== found.stamp) return 'invalid';
    const rights = await this.options.rights(found.user);
    return rights ? { ...found, rights } : 'invalid';
  }

  private sessionInfo(session: Session): SessionInfo {
    return { user: session.user, anonymous: session.anonymous, csrfToken: session.csrfToken, expiresAt: new Date(session.expiresAt).toISOString() };
  }

  private async session({ req, res }: ApiRequest): Promise<void> {
    const found = await this.currentSession(req);
    if (typeof found !== 'string') return sendUiJson(res, 200, this.sessionInfo(found));
    // Without authentication there is nothing to sign in with: everyone gets an
    // anonymous session (it still carries a CSRF token for the actions).
    if (!this.options.authenticator) return this.open(res, ANONYMOUS, undefined);
    throw new RegistryError('SESSION_REQUIRED');
  }

  private open(res: ServerResponse, user: string, stamp: string | undefined): void {
    const { session, token } = this.options.sessions.create(user, stamp);
    sendUiJson(res, 200, this.sessionInfo(session), { 'Set-Cookie': this.options.sessions.cookieFor(session, token) });
  }

  private async signIn({ req, res }: ApiRequest): Promise<void> {
    assertSameOrigin(req, this.options.secure);
    const body = await readJsonObject(req);
    const authenticator = this.options.authenticator;
    if (!authenticator) return this.open(res, ANONYMOUS, undefined);
    const user = stringField(body, 'user', 256);
    const password = stringField(body, 'password', 1024);
    if (user.includes(':')) throw new RegistryError('SIGN_IN_FAILED');
    const remote = req.socket.remoteAddress ?? 'unknown';
    const blockedMs = this.options.authFailures.blockedFor(remote);
    if (blockedMs > 0) throw new RegistryError('TOO_MANY_AUTH_FAILURES', undefined, null, { 'Retry-After': String(Math.ceil(blockedMs / 1000)) });
    // The same check as the /v2 API's, through the same authenticator and cache.
    const header = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    const result = await authenticator.authenticate(header);
    if (!result.ok) {
      if (this.options.authFailures.recordFailure(remote)) this.options.log.warn({ remote }, 'ui: too many failed sign-ins: refusing this address for a while');
      else this.options.log.warn({ remote }, 'ui: sign-in refused');
      throw new RegistryError('SIGN_IN_FAILED');
    }
    const credential = await authenticator.storedCredential(result.user);
    // An expired robot's password still matches: it may not sign in all the same.
    if (credential === undefined || !(await this.options.rights(result.user))) throw new RegistryError('SIGN_IN_FAILED');
    this.options.log.info({ user: result.user, remote }, 'ui: signed in');
    this.open(res, result.user, this.options.sessions.stamp(credential));
  }

  private async signOut({ req, res }: ApiRequest): Promise<void> {
    const session = await this.actionSession(req);
    this.options.sessions.end(session);
    res.writeHead(204, { 'Set-Cookie': this.options.sessions.clearingCookie(), 'Cache-Control': 'no-store' });
    res.end();
  }

  // ---- guards --------------------------------------------------------------------

  private checkCsrf(req: IncomingMessage, session: Session): void {
    assertSameOrigin(req, this.options.secure);
    if (!csrfMatches(session, req.headers[CSRF_HEADER.toLowerCase()])) throw new RegistryError('CSRF_INVALID');
  }

  /** An action's session: signed in, from this origin, with the session's CSRF token. */
  private async actionSession(req: IncomingMessage): Promise<ActiveSession> {
    const session = await this.requireSession(req);
    this.checkCsrf(req, session);
    return session;
  }

  /** The registry's modes, then the account's rights: may this session's user act? */
  private permit(session: ActiveSession, repository: string | null, action: Action): void {
    if (this.options.readOnly) throw new RegistryError('READ_ONLY');
    if (action === 'delete' && !this.options.deleteEnabled) throw new RegistryError('DELETE_DISABLED');
    if (!session.rights.may(repository, action)) throw new RegistryError('ACTION_DENIED', undefined, { action, repository });
  }

  private may(session: ActiveSession, repository: string | null, action: Action): boolean {
    if (action !== 'pull' && this.options.readOnly) return false;
    if (action === 'delete' && !this.options.deleteEnabled) return false;
    return session.rights.may(repository, action);
  }

  private async readableRepository(req: IncomingMessage, query: URLSearchParams): Promise<{ session: ActiveSession; name: string }> {
    const session = await this.requireSession(req);
    const name = query.get('name') ?? '';
    if (!isValidRepositoryName(name)) throw new RegistryError('NAME_INVALID', undefined, { name });
    if (!this.may(session, name, 'pull')) throw new RegistryError('ACTION_DENIED', undefined, { action: 'pull', repository: name });
    return { session, name };
  }

  // ---- reads ---------------------------------------------------------------------

  private async repositories({ req, res, query }: ApiRequest): Promise<void> {
    const session = await this.requireSession(req);
    const search = (query.get('q') ?? '').trim().toLowerCase();
    if (search.length > 255) throw new RegistryError('REQUEST_INVALID', 'q: at most 255 characters', { field: 'q' });
    const offset = integerParam(query, 'offset', 0, Number.MAX_SAFE_INTEGER);
    const limit = Math.max(1, integerParam(query, 'limit', DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE));
    const visible = (await this.options.storage.listRepositories({ allowStale: true })).filter((name) => this.may(session, name, 'pull'));
    const matching = search === '' ? visible : visible.filter((name) => name.includes(search));
    // Only the rows on this page are summarised: the cost of a page does not grow
    // with the number of repositories.
    const items = await this.summaries.repositories(matching.slice(offset, offset + limit));
    const page: RepositoryPage = { total: matching.length, registryTotal: visible.length, offset, limit, items };
    sendUiJson(res, 200, page);
  }

  private async tags({ req, res, query }: ApiRequest): Promise<void> {
    const { session, name } = await this.readableRepository(req, query);
    const offset = integerParam(query, 'offset', 0, Number.MAX_SAFE_INTEGER);
    const limit = Math.max(1, integerParam(query, 'limit', DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE));
    const tags = await this.summaries.tags(name);
    if (tags === undefined) throw new RegistryError('NAME_UNKNOWN', undefined, { name });
    const byDigest = new Map<string, string[]>();
    for (const { tag, digest } of tags) byDigest.set(digest, [...(byDigest.get(digest) ?? []), tag]);
    const items: TagSummary[] = [];
    for (const tag of tags.slice(offset, offset + limit)) {
      const facts = await this.summaries.image(name, tag.digest);
      let size = 0;
      for (const blobSize of facts?.blobs.values() ?? []) size += blobSize;
      items.push({
        tag: tag.tag,
        digest: tag.digest,
        mediaType: facts?.mediaType ?? 'unknown',
        artifactType: facts?.artifactType ?? null,
        platforms: facts?.platforms ?? [],
        size,
        created: facts?.created ?? null,
        pushed: new Date(tag.updatedMs).toISOString(),
        sameDigest: (byDigest.get(tag.digest) ?? []).filter((other) => other !== tag.tag),
      });
    }
    const page: TagPage = { repository: name, total: tags.length, offset, limit, items, canDelete: this.may(session, name, 'delete') };
    sendUiJson(res, 200, page);
  }

  /**
   * An image config as JSON. Read here rather than through /v2/.../blobs: a blob GET may
   * redirect to object storage, which the UI's Content-Security-Policy rightly refuses.
   */
  private async config({ req, res, query }: ApiRequest): Promise<void> {
    const { name } = await this.readableRepository(req, query);
    const digest = query.get('digest') ?? '';
    if (!parseDigest(digest)) throw new RegistryError('DIGEST_INVALID', 'invalid digest', { digest });
    const blob = await readJsonBlob(this.options.storage, name, digest);
    if (blob.ok) return sendUiJson(res, 200, blob.value, { 'Cache-Control': 'private, max-age=31536000, immutable' });
    if (blob.reason === 'missing') throw new RegistryError('BLOB_UNKNOWN', undefined, { name, digest });
    throw new RegistryError('REQUEST_INVALID', blob.reason === 'too-large' ? 'the config is too large to show' : 'the blob is not JSON', { digest });
  }

  private async storageReport({ req, res, query }: ApiRequest): Promise<void> {
    const session = await this.requireSession(req);
    if (query.get('refresh') === '1') this.invalidate();
    const figures = await this.storageFigures();
    const gc = await this.options.storage.gcStatus();
    const report: StorageReport = {
      computedAt: new Date(figures.at).toISOString(),
      repositories: figures.bySize.length,
      blobs: figures.usage.blobs,
      bytes: figures.usage.bytes,
      largest: figures.bySize.filter((summary) => this.may(session, summary.name, 'pull')).slice(0, LARGEST_SHOWN),
      gc: { runs: gc.runs, bytesFreedTotal: gc.bytesFreed, lastRunEnd: gc.lastRunEnd ?? null, lastRun: gc.lastRun ?? null },
      gcJob: await this.gc.current(),
      canGc: this.may(session, null, 'gc'),
      mirror: (await this.options.mirror?.()) ?? null,
    };
    sendUiJson(res, 200, report);
  }

  /** Registry-wide figures: one blob-store walk and every repository's summary, reused for a while. */
  private async storageFigures(): Promise<StorageFigures> {
    const cached = this.figures;
    if (cached && Date.now() - cached.at < STORAGE_REPORT_MAX_AGE_MS) return cached;
    return this.figuresFlight.run('figures', async () => {
      const at = Date.now();
      const [usage, summaries] = await Promise.all([
        this.options.maintenance.blobStoreUsage(),
        this.options.storage.listRepositories().then((names) => this.summaries.repositories(names)),
      ]);
      const figures: StorageFigures = { at, usage, bySize: [...summaries].sort((a, b) => b.size - a.size || (a.name < b.name ? -1 : 1)) };
      this.figures = figures;
      return figures;
    });
  }

  private invalidate(): void {
    this.figures = undefined;
  }

  private async gcState({ req, res }: ApiRequest): Promise<void> {
    await this.requireSession(req);
    sendUiJson(res, 200, { job: await this.gc.current() });
  }

  // ---- actions -------------------------------------------------------------------

  private async deleteTag({ req, res }: ApiRequest): Promise<void> {
    const session = await this.actionSession(req);
    const body = await readJsonObject(req);
    const repository = stringField(body, 'repository', 255);
    const tag = stringField(body, 'tag', 128);
    if (!isValidRepositoryName(repository)) throw new RegistryError('NAME_INVALID', undefined, { name: repository });
    if (!isValidTag(tag)) throw new RegistryError('MANIFEST_UNKNOWN', 'invalid tag', { tag });
    this.permit(session, repository, 'delete');
    const info = await this.options.storage.tagInfo(repository, tag);
    if (!info || !(await this.options.storage.deleteTag(repository, tag))) throw new RegistryError('MANIFEST_UNKNOWN', undefined, { name: repository, reference: tag });
    this.options.log.info({ user: session.user, repository, tag, digest: info.digest }, 'ui: tag deleted');
    this.invalidate();
    const result: DeleteResult = { repository, removedTags: [tag], digest: info.digest };
    sendUiJson(res, 200, result);
  }

  private async deleteManifest({ req, res }: ApiRequest): Promise<void> {
    const session = await this.actionSession(req);
    const body = await readJsonObject(req);
    const repository = stringField(body, 'repository', 255);
    const digestText = stringField(body, 'digest', 200);
    if (!isValidRepositoryName(repository)) throw new RegistryError('NAME_INVALID', undefined, { name: repository });
    const digest = parseDigest(digestText);
    if (!digest) throw new RegistryError('DIGEST_INVALID', 'invalid digest', { digest: digestText });
    this.permit(session, repository, 'delete');
    const tagged = ((await this.summaries.tags(repository)) ?? []).filter((tag) => tag.digest === digest.value).map((tag) => tag.tag);
    if (!(await this.options.storage.deleteManifest(repository, digest))) throw new RegistryError('MANIFEST_UNKNOWN', undefined, { name: repository, reference: digest.value });
    this.options.log.info({ user: session.user, repository, digest: digest.value, tags: tagged }, 'ui: manifest deleted');
    this.invalidate();
    const result: DeleteResult = { repository, removedTags: tagged, digest: digest.value };
    sendUiJson(res, 200, result);
  }

  private async startGc({ req, res }: ApiRequest): Promise<void> {
    const session = await this.actionSession(req);
    const body = await readJsonObject(req);
    const request: GcRequest = { dryRun: booleanField(body, 'dryRun'), deleteUntagged: booleanField(body, 'deleteUntagged') };
    this.permit(session, null, 'gc');
    sendUiJson(res, 202, { job: await this.gc.start(request, session.user) });
  }
}

