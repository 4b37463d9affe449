// The UI's session cookies, CSRF tokens and the authorize() seam, without a browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { everyoneMayAct, withReadOnlyUsers } from '../../src/registry/auth/authorize.js';
import { csrfMatches, SessionStore } from '../../src/registry/ui/sessions.js';

const request = (cookie: string | undefined): IncomingMessage => ({ headers: cookie === undefined ? {} : { cookie } }) as IncomingMessage;

test('the session cookie is HttpOnly, SameSite=Strict and expiring; on TLS also Secure with the __Host- prefix', () => {
  const plain = new SessionStore({ ttlMs: 60_000, secure: false });
  const session = plain.create('admin', 'stamp', 1_000_000);
  assert.equal(plain.cookieFor(session, 1_000_000), `berth_session=${session.id}; Path=/; Max-Age=60; HttpOnly; SameSite=Strict`);
  const tls = new SessionStore({ ttlMs: 60_000, secure: true });
  const secure = tls.create('admin', 'stamp');
  assert.match(tls.cookieFor(secure), /^__Host-berth_session=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Strict; Secure$/);
  assert.match(tls.clearingCookie(), /Max-Age=0; HttpOnly; SameSite=Strict; Secure$/);
});

test('a cookie names a live session, an unknown or expired one (invalid), or none', () => {
  const store = new SessionStore({ ttlMs: 60_000, secure: false });
  const session = store.create('admin', 'stamp', 1_000_000);
  assert.equal(store.fromRequest(request(`other=1; berth_session=${session.id}`), 1_000_001), session);
  assert.equal(store.fromRequest(request(undefined)), 'none');
  assert.equal(store.fromRequest(request('other=1')), 'none');
  assert.equal(store.fromRequest(request('berth_session=not-a-session')), 'invalid');
  assert.equal(store.fromRequest(request(`berth_session=${'a'.repeat(43)}`)), 'invalid');
  assert.equal(store.fromRequest(request(`berth_session=${session.id}`), 1_060_000), 'invalid', 'expired');
  assert.equal(store.fromRequest(request(`berth_session=${session.id}`), 1_000_001), 'invalid', 'an expired session is gone for good');
  const ended = store.create('admin', 'stamp');
  store.end(ended.id);
  assert.equal(store.fromRequest(request(`berth_session=${ended.id}`)), 'invalid');
});

test('sessions are bounded: the oldest go first', () => {
  const store = new SessionStore({ ttlMs: 60_000, secure: false, maxSessions: 3 });
  const sessions = Array.from({ length: 5 }, () => store.create('admin', 'stamp'));
  assert.equal(store.fromRequest(request(`berth_session=${sessions[0]!.id}`)), 'invalid');
  assert.equal(store.fromRequest(request(`berth_session=${sessions[4]!.id}`)), sessions[4]);
});

test('CSRF tokens match only exactly', () => {
  const store = new SessionStore({ ttlMs: 60_000, secure: false });
  const session = store.create('admin', 'stamp');
  const other = store.create('admin', 'stamp');
  assert.notEqual(session.csrfToken, other.csrfToken);
  assert.equal(csrfMatches(session, session.csrfToken), true);
  assert.equal(csrfMatches(session, other.csrfToken), false);
  assert.equal(csrfMatches(session, undefined), false);
  assert.equal(csrfMatches(session, ''), false);
  assert.equal(csrfMatches(session, [session.csrfToken]), false);
  assert.equal(csrfMatches(session, `${session.csrfToken}x`), false);
});

test('authorize: everyone may act until a policy says otherwise; read-only users may only pull', () => {
  assert.equal(everyoneMayAct('admin', 'app', 'delete'), true);
  const policy = withReadOnlyUsers(['viewer']);
  assert.equal(policy('viewer', 'app', 'pull'), true);
  assert.equal(policy('viewer', 'app', 'delete'), false);
  assert.equal(policy('viewer', null, 'gc'), false);
  assert.equal(policy('admin', 'app', 'delete'), true);
  assert.equal(policy('admin', null, 'gc'), true);
  const strict = withReadOnlyUsers(['viewer'], (_user, repository) => repository !== 'secret');
  assert.equal(strict('viewer', 'secret', 'pull'), false, 'the base policy still applies to read-only users');
  assert.equal(withReadOnlyUsers([]), everyoneMayAct);
});
