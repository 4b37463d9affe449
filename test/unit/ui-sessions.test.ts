// The UI's signed session cookies, CSRF tokens and the authorize() seam, without a browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { everyoneMayAct, withReadOnlyUsers, type Action, type RightsOf } from '../../src/registry/auth/authorize.js';
import { csrfMatches, SessionStore, type Session } from '../../src/registry/ui/sessions.js';

const request = (cookie: string | undefined): IncomingMessage => ({ headers: cookie === undefined ? {} : { cookie } }) as IncomingMessage;
const SECRET = Buffer.from('a shared secret of at least sixteen bytes');
const store = (options: { secure?: boolean; secret?: Buffer; ttlMs?: number; maxEnded?: number } = {}): SessionStore =>
  new SessionStore({ secret: options.secret ?? SECRET, ttlMs: options.ttlMs ?? 60_000, secure: options.secure ?? false, ...(options.maxEnded ? { maxEnded: options.maxEnded } : {}) });

test('the session cookie is HttpOnly, SameSite=Strict and expiring; on TLS also Secure with the __Host- prefix', () => {
  const plain = store();
  const { session, token } = plain.create('admin', 'stamp', 1_000_000);
  assert.equal(plain.cookieFor(session, token, 1_000_000), `berth_session=${token}; Path=/; Max-Age=60; HttpOnly; SameSite=Strict`);
  assert.match(token, /^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
  const tls = store({ secure: true });
  const secure = tls.create('admin', 'stamp');
  assert.match(tls.cookieFor(secure.session, secure.token), /^__Host-berth_session=v1\.[^;]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Strict; Secure$/);
  assert.match(tls.clearingCookie(), /Max-Age=0; HttpOnly; SameSite=Strict; Secure$/);
});

test('any process with the same secret accepts a session; a forged, altered, expired or foreign token is invalid', () => {
  const { session, token } = store().create('admin', 'stamp', 1_000_000);
  const elsewhere = store();
  assert.deepEqual(elsewhere.fromRequest(request(`other=1; berth_session=${token}`), 1_000_001), session, 'another worker or replica');
  assert.equal(elsewhere.fromRequest(request(undefined)), 'none');
  assert.equal(elsewhere.fromRequest(request('other=1')), 'none');
  assert.equal(elsewhere.fromRequest(request('berth_session=not-a-session')), 'invalid');
  assert.equal(elsewhere.fromRequest(request(`berth_session=${token}`), 1_060_000), 'invalid', 'expired');
  assert.equal(store({ secret: Buffer.from('another secret of sixteen bytes or more') }).fromRequest(request(`berth_session=${token}`), 1_000_001), 'invalid');
  const [version, body, signature] = token.split('.') as [string, string, string];
  const promoted = Buffer.from(JSON.stringify({ ...(JSON.parse(Buffer.from(body, 'base64url').toString()) as object), u: 'root' })).toString('base64url');
  assert.equal(elsewhere.fromRequest(request(`berth_session=${version}.${promoted}.${signature}`), 1_000_001), 'invalid', 'a changed payload');
  assert.equal(elsewhere.fromRequest(request(`berth_session=${version}.${body}.${'A'.repeat(43)}`), 1_000_001), 'invalid', 'a forged signature');
});

test('sign-out: this process refuses the session from then on; the list of ended sessions is bounded', () => {
  const sessions = store({ maxEnded: 3 });
  const first = sessions.create('admin', 'stamp');
  sessions.end(first.session);
  assert.equal(sessions.fromRequest(request(`berth_session=${first.token}`)), 'invalid');
  for (let i = 0; i < 5; i++) sessions.end(sessions.create('admin', 'stamp').session);
  const live = sessions.create('admin', 'stamp');
  assert.equal((sessions.fromRequest(request(`berth_session=${live.token}`)) as Session).user, 'admin');
});

test('credential stamps change with the credential; CSRF tokens are per session and match only exactly', () => {
  const sessions = store();
  assert.equal(sessions.stamp('$2y$05$hash-one'), store().stamp('$2y$05$hash-one'));
  assert.notEqual(sessions.stamp('$2y$05$hash-one'), sessions.stamp('$2y$05$hash-two'));
  const { session } = sessions.create('admin', 'stamp');
  const { session: other } = sessions.create('admin', 'stamp');
  assert.notEqual(session.csrfToken, other.csrfToken);
  assert.equal(csrfMatches(session, session.csrfToken), true);
  assert.equal(csrfMatches(session, other.csrfToken), false);
  assert.equal(csrfMatches(session, undefined), false);
  assert.equal(csrfMatches(session, ''), false);
  assert.equal(csrfMatches(session, [session.csrfToken]), false);
  assert.equal(csrfMatches(session, `${session.csrfToken}x`), false);
});

test('rights: everyone may act without a policy; read-only users may only pull, within what the base grants', async () => {
  const may = async (rightsOf: RightsOf, user: string, repository: string | null, action: Action): Promise<boolean> => (await rightsOf(user))?.may(repository, action) ?? false;
  assert.equal(await may(everyoneMayAct, 'admin', 'app', 'delete'), true);
  const policy = withReadOnlyUsers(['viewer']);
  assert.equal(await may(policy, 'viewer', 'app', 'pull'), true);
  assert.equal(await may(policy, 'viewer', 'app', 'delete'), false);
  assert.equal(await may(policy, 'viewer', null, 'gc'), false);
  assert.equal(await may(policy, 'admin', 'app', 'delete'), true);
  assert.equal(await may(policy, 'admin', null, 'gc'), true);
  const strict = withReadOnlyUsers(['viewer'], async (user) => (user === 'gone' ? undefined : { may: (repository) => repository !== 'secret' }));
  assert.equal(await may(strict, 'viewer', 'secret', 'pull'), false, 'the base policy still applies to read-only users');
  assert.equal(await may(strict, 'viewer', 'app', 'pull'), true);
  assert.equal(await strict('gone'), undefined, 'an account without rights stays without');
  assert.equal(withReadOnlyUsers([]), everyoneMayAct);
});
