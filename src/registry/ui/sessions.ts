// The UI's sign-in sessions: a random id in an HttpOnly, SameSite=Strict cookie (Secure
// on TLS), kept in this process's memory with its user, its CSRF token and an absolute
// expiry. Nothing a script can read holds a password or a token that works on its own:
// the CSRF token is useless without the cookie, and the cookie is out of scripts' reach.
// A session also ends when its user's password changes or the user is removed
// (the credential stamp it was opened with no longer matches).
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export interface Session {
  readonly id: string;
  readonly user: string;
  readonly anonymous: boolean;
  readonly csrfToken: string;
  readonly expiresAt: number;
  /** BasicAuthenticator.credentialStamp at sign-in; undefined for anonymous sessions. */
  readonly stamp: string | undefined;
}

const COOKIE = 'berth_session';
/** On TLS the `__Host-` prefix also pins the cookie to this host, path / and Secure. */
const SECURE_COOKIE = `__Host-${COOKIE}`;

const token = (): string => randomBytes(32).toString('base64url');

export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly options: { readonly ttlMs: number; readonly secure: boolean; readonly maxSessions?: number },
  ) {}

  get cookieName(): string {
    return this.options.secure ? SECURE_COOKIE : COOKIE;
  }

  create(user: string, stamp: string | undefined, now = Date.now()): Session {
    this.prune(now);
    const session: Session = { id: token(), user, anonymous: stamp === undefined, csrfToken: token(), expiresAt: now + this.options.ttlMs, stamp };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The session the request's cookie names; 'invalid' when it names one that is unknown or over. */
  fromRequest(req: IncomingMessage, now = Date.now()): Session | 'none' | 'invalid' {
    const id = readCookie(req.headers.cookie, this.cookieName);
    if (id === undefined) return 'none';
    const session = /^[A-Za-z0-9_-]{43}$/.test(id) ? this.sessions.get(id) : undefined;
    if (!session) return 'invalid';
    if (session.expiresAt <= now) {
      this.sessions.delete(id);
      return 'invalid';
    }
    return session;
  }

  end(id: string): void {
    this.sessions.delete(id);
  }

  /** Set-Cookie for a new session. */
  cookieFor(session: Session, now = Date.now()): string {
    const maxAge = Math.max(0, Math.floor((session.expiresAt - now) / 1000));
    return `${this.cookieName}=${session.id}; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Strict${this.options.secure ? '; Secure' : ''}`;
  }

  /** Set-Cookie that removes the cookie. */
  clearingCookie(): string {
    return `${this.cookieName}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict${this.options.secure ? '; Secure' : ''}`;
  }

  /** Bounds memory: expired sessions go first, then the oldest. */
  private prune(now: number): void {
    const max = this.options.maxSessions ?? 10_000;
    if (this.sessions.size < max) return;
    for (const [id, session] of this.sessions) if (session.expiresAt <= now) this.sessions.delete(id);
    for (const id of this.sessions.keys()) {
      if (this.sessions.size < max) break;
      this.sessions.delete(id);
    }
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
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
