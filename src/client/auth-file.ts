// Credential files: containers' auth.json (`{"auths":{"host":{"auth":"base64(u:p)"}}}`)
// and docker's config.json, which uses the same `auths` map (Docker Hub under
// `https://index.docker.io/v1/`). Unknown keys are preserved on rewrite. Writes are
// atomic and private (0600).
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { DOCKER_HUB, normaliseRegistryHost } from '../oci/reference.js';
import type { Credentials } from './credentials.js';
import { writeFileAtomic } from '../util/atomic-file.js';

export interface AuthFileEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  [key: string]: unknown;
}

export interface AuthFile {
  auths: Record<string, AuthFileEntry>;
  [key: string]: unknown;
}

export class AuthFileError extends Error {}

export async function readAuthFile(file: string): Promise<AuthFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { auths: {} };
    throw error;
  }
  if (text.trim() === '') return { auths: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new AuthFileError(`${file} is not valid JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new AuthFileError(`${file} is not a JSON object`);
  const document = parsed as Record<string, unknown>;
  const auths = document['auths'];
  if (auths !== undefined && (typeof auths !== 'object' || auths === null || Array.isArray(auths))) throw new AuthFileError(`${file}: "auths" is not an object`);
  return { ...document, auths: (auths as Record<string, AuthFileEntry> | undefined) ?? {} };
}

export async function writeAuthFile(file: string, content: AuthFile): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, `${JSON.stringify(content, null, '\t')}\n`, 0o600);
}

/** The registry a key names: scheme and path stripped, Docker Hub aliases folded. */
export function registryOfKey(key: string): string {
  const withoutScheme = key.replace(/^[a-z]+:\/\//i, '');
  return normaliseRegistryHost(withoutScheme.split('/')[0]!);
}

/** The key to store a registry's credentials under (Docker Hub keeps docker's key). */
export function keyForRegistry(registry: string, style: 'containers' | 'docker' = 'containers'): string {
  const name = normaliseRegistryHost(registry);
  if (name === DOCKER_HUB) return style === 'docker' ? 'https://index.docker.io/v1/' : DOCKER_HUB;
  return name;
}

export function decodeEntry(entry: AuthFileEntry): Credentials | undefined {
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    // Only the first ':' separates user from password; passwords may contain more.
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (typeof entry.username === 'string') return { username: entry.username, password: typeof entry.password === 'string' ? entry.password : '' };
  return undefined;
}

export function encodeEntry(credentials: { username: string; password: string }): AuthFileEntry {
  return { auth: Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64') };
}

/** Credentials for `registry` in one file; a namespace-scoped key (`host/ns`) counts for its host too. */
export function lookupCredentials(file: AuthFile, registry: string): Credentials | undefined {
  const wanted = normaliseRegistryHost(registry);
  const keys = Object.keys(file.auths).sort((a, b) => a.length - b.length);
  for (const key of keys) {
    if (registryOfKey(key) !== wanted) continue;
    const credentials = decodeEntry(file.auths[key]!);
    if (credentials) return credentials;
  }
  return undefined;
}

export function setCredentials(file: AuthFile, registry: string, credentials: { username: string; password: string }, style: 'containers' | 'docker' = 'containers'): AuthFile {
  const auths = Object.fromEntries(Object.entries(file.auths).filter(([key]) => registryOfKey(key) !== normaliseRegistryHost(registry)));
  auths[keyForRegistry(registry, style)] = encodeEntry(credentials);
  return { ...file, auths };
}

export function removeCredentials(file: AuthFile, registry: string): { file: AuthFile; removed: boolean } {
  const wanted = normaliseRegistryHost(registry);
  const kept = Object.entries(file.auths).filter(([key]) => registryOfKey(key) !== wanted);
  return { file: { ...file, auths: Object.fromEntries(kept) }, removed: kept.length !== Object.keys(file.auths).length };
}

/** Every registry with usable credentials, in file order. */
export function listCredentials(file: AuthFile): Array<{ registry: string; credentials: Credentials }> {
  const result: Array<{ registry: string; credentials: Credentials }> = [];
  const seen = new Set<string>();
  for (const [key, entry] of Object.entries(file.auths)) {
    const registry = registryOfKey(key);
    const credentials = decodeEntry(entry);
    if (!credentials || seen.has(registry)) continue;
    seen.add(registry);
    result.push({ registry, credentials });
  }
  return result;
}

/**
 * How `berth login` reached a registry when that was not verified TLS: plain http, or
 * https without certificate checks. Kept in a top-level "berth" section, which other
 * readers of auth.json and config.json ignore (podman and docker drop it when they
 * rewrite the file; Berth then falls back to its configuration).
 */
export type RecordedTransport = 'http' | 'https-insecure';

const SECTION = 'berth';

function berthSection(file: AuthFile): { transports: Record<string, RecordedTransport>; rest: Record<string, unknown> } {
  const section = file[SECTION];
  const rest = typeof section === 'object' && section !== null && !Array.isArray(section) ? (section as Record<string, unknown>) : {};
  const raw = rest['transports'];
  const transports: Record<string, RecordedTransport> = {};
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) {
    for (const [key, value] of Object.entries(raw)) if (value === 'http' || value === 'https-insecure') transports[key] = value;
  }
  return { transports, rest };
}

export function recordedTransport(file: AuthFile, registry: string): RecordedTransport | undefined {
  return berthSection(file).transports[normaliseRegistryHost(registry)];
}

/** Records (or, with undefined, forgets) the transport for `registry`; the section goes when empty. */
export function setRecordedTransport(file: AuthFile, registry: string, transport: RecordedTransport | undefined): AuthFile {
  const { transports, rest } = berthSection(file);
  const name = normaliseRegistryHost(registry);
  if (transport) transports[name] = transport;
  else delete transports[name];
  const { [SECTION]: _old, ...others } = file;
  const section = { ...rest, transports };
  if (Object.keys(transports).length === 0) delete (section as { transports?: unknown }).transports;
  return Object.keys(section).length === 0 ? { ...others, auths: file.auths } : { ...others, auths: file.auths, [SECTION]: section };
}

/** The file without any recorded transport (`logout --all`). */
export function withoutRecordedTransports(file: AuthFile): AuthFile {
  return Object.keys(berthSection(file).transports).reduce((current, registry) => setRecordedTransport(current, registry, undefined), file);
}
