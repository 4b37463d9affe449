// The UI's sign-in sessions: a token signed with a key derived from the registry's shared
// secret, in a cookie that is HttpOnly, SameSite=Strict and expiring (Secure on TLS). The
// token carries the user, its expiry, a random id and a stamp of the user's credential, so
// every worker process and every replica that shares the secret accepts it without shared
// state, and a restart signs nobody out. Nothing a script can read holds a password or a
// token that works on its own: the CSRF token (derived from the session's id) is useless
// without the cookie, and the cookie is out of scripts' reach.
//
// A session ends at its expiry, when its user's password changes or the user is removed
// (the stamp no longer matches), and at sign-out: the browser drops the cookie, and the
// process that answered the sign-out refuses the token from then on. Other processes accept
// a signed-out token until it expires, as with any signed session.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export interface Session {
  /** Random, per sign-in. */
  readonly id: string;
  readonly user: string;
  readonly anonymous: boolean;
  readonly csrfToken: string;
  readonly expiresAt: number;
  /** A keyed hash of the user's credential at sign-in (sessionStamp); undefined when anonymous. */
  readonly stamp: string | undefined;
}

const COOKIE = 'berth_session';
/** On TLS the `__Host-` prefix also pins the cookie to this host, path / and Secure. */
const SECURE_COOKIE = `__Host-${COOKIE}`;
const VERSION = 'v1';
/** Longest cookie value accepted (a user name is at most a few hundred bytes). */
const MAX_TOKEN = 2048;

interface Payload {
  readonly u: string;
  readonly a: boolean;
  readonly e: number;
  readonly n: string;
  readonly s: string | null;
}

const mac = (key: Buffer, text: string): Buffer => createHmac('sha256', key).update(text).digest();

function isPayload(value: unknown): value is Payload {
  const p = value as Partial<Payload> | null;
  return (
    typeof p === 'object' &&
    p !== null &&
    typeof p.u === 'string' &&
    typeof p.a === 'boolean' &&
    typeof p.e === 'number' &&
    typeof p.n === 'string' &&
    (typeof p.s === 'string' || p.s === null)
  );
}

export class SessionStore {
  private readonly key: Buffer;
  /** Sessions signed out through this process, until they would have expired. */
  private readonly ended = new Map<string, number>();

  constructor(private readonly options: { readonly secret: Buffer; readonly ttlMs: number; readonly secure: boolean; readonly maxEnded?: number }) {
    // Its own key: a token can never pass for anything else the secret signs (upload state).
    this.key = mac(options.secret, 'berth ui session v1');
  }

  get cookieName(): string {
    return this.options.secure ? SECURE_COOKIE : COOKIE;
  }

  /** What a session records of the user's credential (a bcrypt hash): it changes with the password. */
  stamp(credential: string): string {
    return mac(this.key, `stamp\u0000${credential}`).subarray(0, 16).toString('base64url');
  }

  create(user: string, stamp: string | undefined, now = Date.now()): { readonly session: Session; readonly token: string } {
    const payload: Payload = { u: user, a: stamp === undefined, e: now + this.options.ttlMs, n: randomBytes(16).toString('base64url'), s: stamp ?? null };
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    const token = `${VERSION}.${body}.${mac(this.key, `${VERSION}.${body}`).toString('base64url')}`;
    return { session: this.session(payload), token };
  }

  /** The session the request's cookie carries; 'invalid' when it is forged, expired or signed out. */
  fromRequest(req: IncomingMessage, now = Date.now()): Session | 'none' | 'invalid' {
    const token = readCookie(req.headers.cookie, this.cookieName);
    if (token === undefined) return 'none';
    const payload = this.verify(token);
    if (!payload || payload.e <= now || this.ended.has(payload.n)) return 'invalid';
    return this.session(payload);
  }

  end(session: Session, now = Date.now()): void {
    const max = this.options.maxEnded ?? 10_000;
    for (const [id, expiresAt] of this.ended) if (expiresAt <= now || this.ended.size >= max) this.ended.delete(id);
    this.ended.set(session.id, session.expiresAt);
  }

  /** Set-Cookie for a new session. */
  cookieFor(session: Session, token: string, now = Date.now()): string {
    const maxAge = Math.max(0, Math.floor((session.expiresAt - now) / 1000));
    return `${this.cookieName}=${token}; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Strict${this.options.secure ? '; Secure' : ''}`;
  }

  /** Set-Cookie that removes the cookie. */
  clearingCookie(): string {
    return `${this.cookieName}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict${this.options.secure ? '; Secure' : ''}`;
  }

  private verify(token: string): Payload | undefined {
    if (token.length > MAX_TOKEN) return undefined;
    const [version, body, signature, ...rest] = token.split('.');
    if (version !== VERSION || body === undefined || signature === undefined || rest.length > 0) return undefined;
    const expected = mac(this.key, `${version}.${body}`);
    const given = Buffer.from(signature, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    try {
      const payload: unknown = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
      return isPayload(payload) ? payload : undefined;
    } catch {
      return undefined;
    }
  }

  private session(payload: Payload): Session {
    return {
      id: payload.n,
      user: payload.u,
      anonymous: payload.a,
      csrfToken: mac(this.key, `csrf\u0000${payload.n}`).toString('base64url'),
      expiresAt: payload.e,
      stamp: payload.s ?? undefined,
    };
  }
}

export function csrfMatches(session: Session, presented: string | string[] | undefined): boolean {
  if (typeof presented !== 'string') return false;
  const expected = Buffer.from(session.csrfToken);
  const given = Buffer.from(presented);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq >= 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
