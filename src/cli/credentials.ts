// Where credentials live, from the environment (this is composition-root code):
// `--authfile`, else $REGISTRY_AUTH_FILE, else ${XDG_RUNTIME_DIR}/containers/auth.json
// (/run/containers/<uid>/auth.json for root, as podman and sealos use); docker's
// ~/.docker/config.json (or $DOCKER_CONFIG/config.json) is read as a fallback.
import { homedir } from 'node:os';
import path from 'node:path';
import { lookupCredentials, readAuthFile } from '../client/auth-file.js';
import type { CredentialSource, Credentials } from '../client/credentials.js';

export function authFilePath(explicit?: string): string {
  if (explicit) return explicit;
  const fromEnv = process.env['REGISTRY_AUTH_FILE'];
  if (fromEnv) return fromEnv;
  const runtime = process.env['XDG_RUNTIME_DIR'];
  if (runtime) return path.join(runtime, 'containers', 'auth.json');
  const uid = process.getuid?.() ?? 0;
  return uid === 0 ? '/run/containers/0/auth.json' : path.join(homedir(), '.config', 'containers', 'auth.json');
}

export function dockerConfigPath(): string {
  return path.join(process.env['DOCKER_CONFIG'] ?? path.join(homedir(), '.docker'), 'config.json');
}

/** Credentials for `registry`: the auth file first, then docker's config. */
export async function findCredentials(registry: string, authFile?: string): Promise<Credentials | undefined> {
  for (const file of [authFilePath(authFile), dockerConfigPath()]) {
    const found = lookupCredentials(await readAuthFile(file), registry);
    if (found) return found;
  }
  return undefined;
}

export function credentialSource(registry: string, authFile?: string): CredentialSource {
  return () => findCredentials(registry, authFile);
}
