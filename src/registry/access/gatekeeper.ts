// Turns a request's Authorization header into an Identity: Basic credentials of an
// htpasswd user or a robot account (checked against its record: deleted robots are
// rejected, expired ones told so), a Bearer token (from this registry's own token
// server or a trusted issuer), or nobody. What the identity may then do is
// AccessControl's business.
import type { RobotDirectory, RobotRecord } from '../../storage/types.js';
import type { BasicAuthenticator } from '../auth/basic-auth.js';
import type { TokenVerifier } from '../token/verifier.js';
import { actionSet, isAction } from './actions.js';
import { AccessControl } from './access-control.js';
import type { ChallengeSettings } from './challenge.js';
import { compileGlob, type Glob } from './glob.js';
import { ROBOT_PREFIX, isRobotName, type Identity, type RobotBounds } from './identity.js';

export type IdentifyResult =
  | { readonly ok: true; readonly identity: Identity }
  /** A Basic credential that did not match (counts towards the failure limit). */
  | { readonly ok: false; readonly reason: 'rejected' }
  /** Not cached, and a fresh bcrypt check was not allowed (the address is blocked). */
  | { readonly ok: false; readonly reason: 'needs-verify' }
  /** An Authorization header that is neither Basic nor Bearer, or a Bearer this registry cannot check. */
  | { readonly ok: false; readonly reason: 'malformed' }
  | { readonly ok: false; readonly reason: 'robot-expired'; readonly robot: string; readonly expiredAt: string }
  | { readonly ok: false; readonly reason: 'token-invalid'; readonly detail: string };

export interface GatekeeperOptions {
  readonly control: AccessControl;
  readonly challenge: ChallengeSettings;
  /** Basic logins (htpasswd users and robots); undefined: Basic is not accepted. */
  readonly basic?: BasicAuthenticator;
  readonly robots?: RobotDirectory;
  /** Bearer tokens, and whose they are. */
  readonly tokens?: { readonly verifier: TokenVerifier; readonly issuer: 'self' | 'external' };
}

const BEARER = /^Bearer\s+([A-Za-z0-9._~+/=-]+)\s*$/i;
/** `Basic` of ":" (an empty user and password): how containers/image asks with no credentials. */
const EMPTY_BASIC = /^Basic\s+Og==\s*$/i;

/** A robot's bounds, compiled once per record read from the storage. */
const compiledBounds = new WeakMap<RobotRecord, RobotBounds>();

export function robotBounds(record: RobotRecord): RobotBounds {
  let bounds = compiledBounds.get(record);
  if (!bounds) {
    const repositories: Glob[] = [];
    for (const pattern of record.repositories) {
      const compiled = compileGlob(pattern);
      if (compiled.ok) repositories.push(compiled.glob);
    }
    bounds = { repositories, actions: actionSet(record.actions.filter(isAction)) };
    compiledBounds.set(record, bounds);
  }
  return bounds;
}

export function robotExpired(record: RobotRecord, now = Date.now()): boolean {
  return record.expiresAt !== null && !(Date.parse(record.expiresAt) > now);
}

export class Gatekeeper {
  readonly control: AccessControl;
  readonly challenge: ChallengeSettings;

  constructor(private readonly options: GatekeeperOptions) {
    this.control = options.control;
    this.challenge = options.challenge;
  }

  /** A robot's current record, when it exists and has not expired. */
  private async robot(name: string): Promise<{ ok: true; record: RobotRecord } | { ok: false; expiredAt?: string }> {
    const record = await this.options.robots?.lookup(name.slice(ROBOT_PREFIX.length));
    if (!record) return { ok: false };
    if (robotExpired(record)) return { ok: false, expiredAt: record.expiresAt! };
    return { ok: true, record };
  }

  async identify(header: string | undefined, options: { allowVerify: boolean }): Promise<IdentifyResult> {
    if (header === undefined || header.trim() === '' || EMPTY_BASIC.test(header)) return { ok: true, identity: { kind: 'anonymous' } };
    const bearer = BEARER.exec(header);
    if (bearer) return this.identifyToken(bearer[1]!);
    if (!/^Basic\s/i.test(header) || !this.options.basic) return { ok: false, reason: 'malformed' };
    const result = await this.options.basic.authenticate(header, { allowVerify: options.allowVerify });
    if (!result.ok) return { ok: false, reason: result.reason === 'needs-verify' ? 'needs-verify' : result.reason === 'missing' ? 'malformed' : 'rejected' };
    if (!isRobotName(result.user)) return { ok: true, identity: { kind: 'user', name: result.user } };
    const robot = await this.robot(result.user);
    if (!robot.ok) return robot.expiredAt !== undefined ? { ok: false, reason: 'robot-expired', robot: result.user, expiredAt: robot.expiredAt } : { ok: false, reason: 'rejected' };
    return { ok: true, identity: { kind: 'robot', name: result.user, bounds: robotBounds(robot.record), expiresAt: robot.record.expiresAt } };
  }

  /**
   * The identity of an account signed in by other means (the UI's session, whose password
   * was checked at sign-in): an htpasswd user, or a robot that still exists and has not
   * expired; undefined otherwise.
   */
  async accountIdentity(name: string): Promise<Identity | undefined> {
    if (!isRobotName(name)) return { kind: 'user', name };
    const robot = await this.robot(name);
    return robot.ok ? { kind: 'robot', name, bounds: robotBounds(robot.record), expiresAt: robot.record.expiresAt } : undefined;
  }

  private async identifyToken(token: string): Promise<IdentifyResult> {
    const tokens = this.options.tokens;
    if (!tokens) return { ok: false, reason: 'malformed' };
    const checked = await tokens.verifier.verify(token);
    if (!checked.ok) return { ok: false, reason: 'token-invalid', detail: checked.reason };
    let bounds: RobotBounds | undefined;
    // Our own tokens stand for our own accounts: a robot deleted or expired since the
    // token was issued loses it at once.
    if (tokens.issuer === 'self' && checked.principal !== undefined && isRobotName(checked.principal)) {
      const robot = await this.robot(checked.principal);
      if (!robot.ok) return { ok: false, reason: 'token-invalid', detail: 'the robot account is gone or expired' };
      bounds = robotBounds(robot.record);
    }
    return { ok: true, identity: { kind: 'token', issuer: tokens.issuer, principal: checked.principal, bounds, grants: checked.grants } };
  }
}
