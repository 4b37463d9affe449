// Access-control scenes for tests: htpasswd users, robot accounts made with the real
// CLI (their secrets recorded for the secrets-hygiene test), and raw requests as a user.
import { writeFile } from 'node:fs/promises';
import bcrypt from 'bcryptjs';
import { recordSecret } from './logs.js';
import { basicAuth } from './net.js';
import { run } from './process.js';
import { BERTH_BIN } from './tools.js';

/** An htpasswd file with these users (bcrypt cost 5: fast, and still bcrypt). */
export async function writeHtpasswd(file: string, users: Readonly<Record<string, string>>): Promise<void> {
  const lines = Object.entries(users).map(([user, password]) => `${user}:${bcrypt.hashSync(password, 5).replace(/^\$2[ab]\$/, '$2y$')}`);
  await writeFile(file, `${lines.join('\n')}\n`, { mode: 0o600 });
}

export interface Robot {
  readonly user: string;
  readonly secret: string;
}

/** `berth registry robot create NAME --data-dir DIR --repos R --actions A --json [...extra]`. */
export async function createRobot(dataDir: string, name: string, repos: string, actions: string, extra: readonly string[] = []): Promise<Robot> {
  const result = await run(process.execPath, [BERTH_BIN, 'registry', 'robot', 'create', name, '--data-dir', dataDir, '--repos', repos, '--actions', actions, '--json', ...extra]);
  const created = JSON.parse(result.stdout) as { name: string; secret: string };
  recordSecret(created.secret);
  return { user: created.name, secret: created.secret };
}

export interface Caller {
  readonly user: string;
  readonly password: string;
}

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

/** One request to the registry as `caller` (Basic), or anonymous. */
export async function requestAs(url: string, caller: Caller | undefined, init: RequestInit = {}): Promise<Answer> {
  const headers = new Headers(init.headers);
  if (caller) headers.set('authorization', basicAuth(caller.user, caller.password));
  const response = await fetch(url, { ...init, headers, redirect: 'manual' });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

/** The error codes of an OCI error body. */
export function errorCodes(body: string): string[] {
  try {
    return ((JSON.parse(body) as { errors?: Array<{ code: string }> }).errors ?? []).map((e) => e.code);
  } catch {
    return [];
  }
}
