// htpasswd files as `htpasswd -B` writes them: `user:$2y$<cost>$<salt+hash>` per line.
// Only bcrypt is accepted, as in distribution; other lines are reported, not trusted.
import { readFile, stat } from 'node:fs/promises';

export interface HtpasswdParseResult {
  readonly users: ReadonlyMap<string, string>;
  /** Line numbers (1-based) with a reason, for lines that were skipped. */
  readonly skipped: ReadonlyArray<{ line: number; reason: string }>;
}

const BCRYPT_HASH = /^\$2[abxy]\$\d{2}\$[./A-Za-z0-9]{53}$/;

export function parseHtpasswd(text: string): HtpasswdParseResult {
  const users = new Map<string, string>();
  const skipped: Array<{ line: number; reason: string }> = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    if (colon <= 0) {
      skipped.push({ line: index + 1, reason: 'expected user:hash' });
      return;
    }
    const user = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    if (!BCRYPT_HASH.test(hash)) {
      skipped.push({ line: index + 1, reason: `user ${user}: only bcrypt hashes are supported (htpasswd -B)` });
      return;
    }
    users.set(user, hash);
  });
  return { users, skipped };
}

export function formatHtpasswd(users: ReadonlyMap<string, string>): string {
  return [...users].map(([user, hash]) => `${user}:${hash}\n`).join('');
}

/**
 * An htpasswd file re-read when it changes on disk (checked at most once per
 * `checkIntervalMs`), so `berth registry passwd` takes effect without a restart.
 */
export class HtpasswdFile {
  private users: ReadonlyMap<string, string> = new Map();
  private signature = '';
  private checkedAt = -Infinity;
  private loading: Promise<void> | undefined;
  /** Increments on every reload whose content changed; credential caches key on it. */
  generation = 0;

  constructor(
    readonly path: string,
    private readonly onSkipped: (skipped: HtpasswdParseResult['skipped']) => void = () => undefined,
    private readonly checkIntervalMs = 1000,
  ) {}

  async load(): Promise<void> {
    const stats = await stat(this.path);
    const signature = `${stats.mtimeMs}:${stats.size}:${stats.ino}`;
    this.checkedAt = Date.now();
    if (signature === this.signature) return;
    const parsed = parseHtpasswd(await readFile(this.path, 'utf8'));
    if (parsed.skipped.length > 0) this.onSkipped(parsed.skipped);
    this.users = parsed.users;
    this.signature = signature;
    this.generation += 1;
  }

  async lookup(user: string): Promise<string | undefined> {
    if (Date.now() - this.checkedAt > this.checkIntervalMs) {
      this.loading ??= this.load().finally(() => {
        this.loading = undefined;
      });
      // A file that vanished or broke keeps the users we had: never lock everyone out.
      await this.loading.catch(() => undefined);
    }
    return this.users.get(user);
  }

  get userCount(): number {
    return this.users.size;
  }
}
