// HTTP Basic authentication against bcrypt hashes (an htpasswd file, robot accounts).
// bcrypt at cost 10 takes tens of milliseconds, so a verified Authorization header is
// remembered for a short time, as an HMAC under a per-process random key: the password
// itself is never kept, and a memory dump does not give it away.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { LRUCache } from 'lru-cache';
import { SingleFlight } from '../../util/single-flight.js';

/** Where a user's bcrypt hash comes from: the htpasswd file, or a robot account. */
export interface PasswordLookup {
  lookup(user: string): Promise<string | undefined>;
}

export type AuthResult =
  | { readonly ok: true; readonly user: string; readonly cached: boolean }
  | { readonly ok: false; readonly reason: 'missing' | 'malformed' | 'rejected' }
  /** The credentials are not cached and a fresh bcrypt check was not allowed. */
  | { readonly ok: false; readonly reason: 'needs-verify' };

export interface BasicAuthOptions {
  readonly cacheTtlMs?: number;
  readonly cacheSize?: number;
}

interface CachedCredential {
  readonly user: string;
  /** The hash the password was checked against: a changed or deleted entry voids the hit. */
  readonly hash: string;
  /** The keyed hash again, compared in constant time on every hit. */
  readonly mac: Buffer;
}

// A valid bcrypt hash of a random string: unknown users cost as much as known ones.
const DUMMY_HASH = bcrypt.hashSync(randomBytes(16).toString('hex'), 10);

export function decodeBasicHeader(header: string | undefined): { user: string; password: string } | 'missing' | 'malformed' {
  if (header === undefined || header === '') return 'missing';
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match) return 'malformed';
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return 'malformed';
  // Passwords may contain ':'; only the first one separates the user.
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export class BasicAuthenticator {
  private readonly key = randomBytes(32);
  private readonly cache: LRUCache<string, CachedCredential>;
  private readonly verifications = new SingleFlight<AuthResult>();

  constructor(
    private readonly passwords: PasswordLookup,
    options: BasicAuthOptions = {},
  ) {
    this.cache = new LRUCache({ max: options.cacheSize ?? 10_000, ttl: options.cacheTtlMs ?? 60_000 });
  }

  async authenticate(header: string | undefined, options: { allowVerify?: boolean } = {}): Promise<AuthResult> {
    const decoded = decodeBasicHeader(header);
    if (decoded === 'missing' || decoded === 'malformed') return { ok: false, reason: decoded };
    const mac = createHmac('sha256', this.key).update(header!).digest();
    const cacheKey = mac.toString('base64');
    const hit = this.cache.get(cacheKey);
    // The hash is looked up on every request, so a changed password or a deleted user
    // (or robot) stops working at once, cache or not.
    const hash = await this.passwords.lookup(decoded.user);
    if (hit && hash !== undefined && hit.hash === hash && timingSafeEqual(hit.mac, mac)) {
      return { ok: true, user: hit.user, cached: true };
    }
    if (options.allowVerify === false) return { ok: false, reason: 'needs-verify' };
    // Many connections of one client arrive with the same header at once (a push opens
    // several); one bcrypt run answers them all.
    return this.verifications.run(`${cacheKey}\u0000${hash ?? ''}`, async () => {
      const matches = await bcrypt.compare(decoded.password, normaliseBcryptPrefix(hash ?? DUMMY_HASH));
      if (!matches || hash === undefined) return { ok: false, reason: 'rejected' } as const;
      this.cache.set(cacheKey, { user: decoded.user, hash, mac });
      return { ok: true, user: decoded.user, cached: false } as const;
    });
  }

  /**
   * The user's stored credential (their bcrypt hash), undefined once the user is gone:
   * sessions that outlive one request (the UI's) keep a keyed hash of it and end when the
   * password changes. It never leaves the process.
   */
  storedCredential(user: string): Promise<string | undefined> {
    return this.passwords.lookup(user);
  }
}

/** `$2y$` (Apache's htpasswd) and `$2b$` are the same algorithm; bcryptjs wants `$2b$`. */
function normaliseBcryptPrefix(hash: string): string {
  return hash.startsWith('$2y$') ? `$2b$${hash.slice(4)}` : hash;
}
