// Part of the composition root of `registry serve`: who may do what. Reads the htpasswd
// and the token trust files, loads (or creates) the token signing key in the storage,
// and wires the Gatekeeper and the endpoints beside /v2 (/token, /berth/v1/access).
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import type { Logger } from 'pino';
import { AccessControl } from '../../registry/access/access-control.js';
import { AccessEndpoint } from '../../registry/access/access-endpoint.js';
import type { ChallengeSettings } from '../../registry/access/challenge.js';
import { Gatekeeper } from '../../registry/access/gatekeeper.js';
import { AccessPolicy } from '../../registry/access/policy.js';
import { AccountPasswords } from '../../registry/auth/account-passwords.js';
import type { RightsOf } from '../../registry/auth/authorize.js';
import { BasicAuthenticator } from '../../registry/auth/basic-auth.js';
import { HtpasswdFile } from '../../registry/auth/htpasswd.js';
import type { RegistryConfig, TokenConfig } from '../../registry/config.js';
import type { RegistryMetrics } from '../../registry/metrics.js';
import type { RegistryExtension } from '../../registry/server.js';
import { TokenSigner } from '../../registry/token/signer.js';
import { TokenEndpoint } from '../../registry/token/token-endpoint.js';
import { certificateBundleKeys, jwkThumbprint, jwksKeys, remoteJwksKeys, type KeySource } from '../../registry/token/trust.js';
import { ASYMMETRIC_ALGORITHMS, TokenVerifier } from '../../registry/token/verifier.js';
import type { StorageDriver } from '../../storage/driver/driver.js';
import { RobotAccounts } from '../../storage/robot-accounts.js';
import { sharedSigningKey } from '../../storage/token-key.js';
import { writeFileAtomic } from '../../util/atomic-file.js';
import { CliError } from '../cli-error.js';

export const DEFAULT_USER = 'admin';
export const DEFAULT_PASSWORD = 'passw0rd';

/** With no htpasswd configured, use (or create) `<data-dir>/htpasswd` for admin/passw0rd. */
async function ensureDefaultHtpasswd(dataDir: string, log: Logger): Promise<string> {
  const file = path.join(dataDir, 'htpasswd');
  if (await stat(file).catch(() => undefined)) {
    log.warn({ htpasswd: file }, 'no htpasswd configured; using the one in the data directory');
    return file;
  }
  const hash = bcrypt.hashSync(DEFAULT_PASSWORD, 10);
  await writeFileAtomic(file, `${DEFAULT_USER}:${hash}\n`, 0o600);
  log.warn(
    { htpasswd: file, user: DEFAULT_USER },
    `no htpasswd configured; created one for the default user "${DEFAULT_USER}" with the default password. Change it with: berth registry passwd --htpasswd ${file}`,
  );
  return file;
}

/**
 * The htpasswd file to use: the configured one, or the default one (created if absent);
 * none when an external issuer decides and none is configured (its users sign in there:
 * no default admin here).
 */
export async function htpasswdFile(config: RegistryConfig, localDir: string, log: Logger): Promise<string | undefined> {
  if (config.htpasswd) return config.htpasswd;
  if (config.token?.mode === 'trust') return undefined;
  await mkdir(localDir, { recursive: true });
  return ensureDefaultHtpasswd(localDir, log);
}

async function openHtpasswd(file: string | undefined, log: Logger): Promise<HtpasswdFile | undefined> {
  if (file === undefined) return undefined;
  const htpasswd = new HtpasswdFile(file, (skipped) => log.warn({ htpasswd: file, skipped }, 'htpasswd lines skipped'));
  try {
    await htpasswd.load();
  } catch (error) {
    throw new CliError(`cannot read htpasswd ${file}: ${(error as Error).message}`, 'create it with: berth registry passwd --htpasswd FILE');
  }
  if (htpasswd.userCount === 0) log.warn({ htpasswd: file }, 'htpasswd has no usable bcrypt entries; only robot accounts can sign in');
  return htpasswd;
}

async function readTrustFile(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read the token ${what} ${file}: ${(error as Error).message}`);
  }
}

/** The keys an external issuer's tokens are checked against. */
async function trustedKeys(token: Extract<TokenConfig, { mode: 'trust' }>): Promise<KeySource> {
  if (token.jwks !== undefined) {
    if (/^https?:\/\//i.test(token.jwks)) return remoteJwksKeys(new URL(token.jwks));
    try {
      return jwksKeys(JSON.parse(await readTrustFile(token.jwks, 'JWKS')) as Parameters<typeof jwksKeys>[0]);
    } catch (error) {
      if (error instanceof CliError) throw error;
      throw new CliError(`the token JWKS ${token.jwks} is not a JWKS: ${(error as Error).message}`);
    }
  }
  try {
    return await certificateBundleKeys(await readTrustFile(token.rootCertBundle!, 'root certificate bundle'));
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`the token root certificate bundle ${token.rootCertBundle} is unusable: ${(error as Error).message}`);
  }
}

export interface AccessSetup {
  readonly gatekeeper: Gatekeeper;
  readonly extensions: readonly RegistryExtension[];
  /** The Basic check of htpasswd users and robots (the UI's sign-in uses it too). */
  readonly basic: BasicAuthenticator;
  /** What an account may do, by the same policy as the API (for the UI). */
  readonly rights: RightsOf;
}

/** An account's rights under `control`: per repository by the policy, `gc` for admins. */
function rightsOf(gatekeeper: Gatekeeper): RightsOf {
  const control = gatekeeper.control;
  return async (user) => {
    const identity = await gatekeeper.accountIdentity(user);
    if (!identity) return undefined;
    return {
      may: (repository, action) => (action === 'gc' || repository === null ? control.isAdmin(identity) : control.decide(identity, repository, action) === 'allow'),
    };
  };
}

export interface AccessSetupOptions {
  readonly config: RegistryConfig;
  readonly driver: StorageDriver;
  /** The htpasswd file (see htpasswdFile); undefined: only robots sign in with passwords. */
  readonly htpasswd: string | undefined;
  readonly metrics: RegistryMetrics;
  readonly log: Logger;
}

export async function setUpAccess({ config, driver, htpasswd: file, metrics, log }: AccessSetupOptions): Promise<AccessSetup> {
  const htpasswd = await openHtpasswd(file, log);
  const robots = new RobotAccounts(driver);
  const basic = new BasicAuthenticator(new AccountPasswords(htpasswd, robots), { cacheTtlMs: config.authCacheTtlMs });
  const control = new AccessControl(config.accessControl ? new AccessPolicy(config.accessControl) : undefined);
  const extensions: RegistryExtension[] = [new AccessEndpoint(control)];
  const token = config.token;
  let tokens: ConstructorParameters<typeof Gatekeeper>[0]['tokens'];
  let challenge: ChallengeSettings = { scheme: 'basic', realm: config.realm };
  const fallbackRealm = `${config.tls ? 'https' : 'http'}://${config.addr.replace(/^0\.0\.0\.0:/, '127.0.0.1:')}`;
  if (token?.mode === 'issue') {
    const privateKey = createPrivateKey(await sharedSigningKey(driver, token.algorithm));
    const publicKey = createPublicKey(privateKey);
    const keyId = await jwkThumbprint(publicKey);
    const verifier = new TokenVerifier({ issuer: token.issuer, service: token.service, keys: publicKey, algorithms: [token.algorithm] });
    tokens = { verifier, issuer: 'self' };
    const signer = new TokenSigner({ issuer: token.issuer, service: token.service, lifetimeMs: token.lifetimeMs, algorithm: token.algorithm, privateKey, keyId });
    extensions.push(new TokenEndpoint(signer, control, metrics));
    challenge = { scheme: 'bearer', realm: token.realm, realmPath: '/token', service: token.service, fallbackRealm: `${fallbackRealm}/token` };
    log.info({ service: token.service, algorithm: token.algorithm, lifetimeMs: token.lifetimeMs }, 'issuing Bearer tokens at /token');
  } else if (token?.mode === 'trust') {
    const algorithms = token.algorithms ?? ASYMMETRIC_ALGORITHMS;
    const unsafe = algorithms.find((algorithm) => !(ASYMMETRIC_ALGORITHMS as readonly string[]).includes(algorithm));
    if (unsafe !== undefined) throw new CliError(`token signing algorithm ${unsafe} is not accepted`, `use one of ${ASYMMETRIC_ALGORITHMS.join(', ')}`);
    const verifier = new TokenVerifier({ issuer: token.issuer, service: token.service, keys: await trustedKeys(token), algorithms });
    tokens = { verifier, issuer: 'external' };
    challenge = { scheme: 'bearer', realm: token.realm, realmPath: token.realmPath, service: token.service, fallbackRealm: `${fallbackRealm}${token.realmPath}` };
    log.info({ issuer: token.issuer, service: token.service, realm: token.realm ?? `(this host)${token.realmPath}` }, 'trusting Bearer tokens of an external issuer');
  }
  if (config.accessControl) log.info({ repositories: config.accessControl.entries.length }, 'access control policy loaded');
  const gatekeeper = new Gatekeeper({ control, challenge, basic, robots, ...(tokens ? { tokens } : {}) });
  return { gatekeeper, extensions, basic, rights: rightsOf(gatekeeper) };
}
