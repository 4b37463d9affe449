// The UI's HTTP surface without a browser: what a hostile or confused client gets from
// /ui/, /ui/api/ and from /v2 when it carries the UI's session cookie. The browser walk-
// through (registry-ui) covers what a person sees; this covers the edges it cannot reach.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { startBerth, startBerthProcess, TEST_PASSWORD, TEST_USER, type TestRegistry } from '../support/berth.js';
import { stopAll, waitFor } from '../support/process.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';

const NEW_PASSWORD = 'n3w-secret';
let registry: TestRegistry;
let htpasswd: string;

async function writeHtpasswd(password: string): Promise<void> {
  await writeFile(htpasswd, `${TEST_USER}:${bcrypt.hashSync(password, 5)}\n`);
}

function url(pathname: string): string {
  return `${registry.url}${pathname}`;
}

async function errorCode(response: Response): Promise<string | undefined> {
  return ((await response.json()) as { errors: Array<{ code: string }> }).errors[0]?.code;
}

interface Session {
  readonly cookie: string;
  readonly csrf: string;
}

async function signIn(password = TEST_PASSWORD): Promise<Session> {
  const response = await fetch(url('/ui/api/session'), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ user: TEST_USER, password }) });
  assert.equal(response.status, 200);
  const cookie = response.headers.get('set-cookie')!.split(';')[0]!;
  return { cookie, csrf: ((await response.json()) as { csrfToken: string }).csrfToken };
}

function action(session: Session, pathname: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url(pathname), {
    method: 'POST',
    headers: { Cookie: session.cookie, 'Content-Type': 'application/json', 'X-Berth-CSRF': session.csrf, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

before(async () => {
  const work = await scratchDir('ui-api-');
  htpasswd = path.join(work, 'htpasswd');
  await writeHtpasswd(TEST_PASSWORD);
  registry = await startBerth({ htpasswd, config: { limits: { maxUploadsPerClient: 256, maxAuthFailures: 3, authFailureWindowMs: 60_000, authBlockMs: 60_000 } } });
});

after(async () => {
  await registry?.stop();
  await stopAll();
  await removeScratchDirs();
});

/** GET on a connection of its own (the cluster spreads connections over its workers). */
function getOnNewConnection(host: string, pathname: string, cookie: string): Promise<number> {
  const [hostname, port] = host.split(':') as [string, string];
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port: Number(port), path: pathname, agent: false, headers: { Cookie: cookie } }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', reject);
    req.end();
  });
}

test('pages and assets: HTML with the CSP and framing headers, hashed assets gzipped and cacheable, 404 for the rest', async () => {
  const page = await fetch(url('/ui/storage'));
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(page.headers.get('content-security-policy') ?? '', /^default-src 'none'; script-src 'self'; style-src 'self';/);
  assert.equal(page.headers.get('x-frame-options'), 'DENY');
  const script = /src="(\/ui\/assets\/[^"]+\.js)"/.exec(await page.text())?.[1];
  assert.ok(script);
  const asset = await fetch(url(script), { headers: { 'Accept-Encoding': 'gzip' } });
  assert.equal(asset.status, 200);
  assert.equal(asset.headers.get('content-encoding'), 'gzip');
  assert.match(asset.headers.get('cache-control') ?? '', /immutable/);
  const again = await fetch(url(script), { headers: { 'Accept-Encoding': 'gzip', 'If-None-Match': asset.headers.get('etag')! } });
  assert.equal(again.status, 304);
  const redirect = await fetch(url('/ui'), { redirect: 'manual' });
  assert.equal(redirect.status, 308);
  assert.equal(redirect.headers.get('location'), '/ui/');
  for (const missing of ['/ui/nope', '/ui/assets/nope.js', '/ui/assets/../index.html', '/ui/api/nope']) {
    const response = await fetch(url(missing));
    assert.equal(response.status, 404, missing);
    assert.equal(await errorCode(response), 'NOT_FOUND');
  }
  const wrongMethod = await fetch(url('/ui/api/repositories'), { method: 'DELETE' });
  assert.equal(wrongMethod.status, 405);
  assert.equal(wrongMethod.headers.get('allow'), 'GET');
});

test('sign-in refuses wrong passwords, other content types and other sites; no session, no data, and no Basic challenge', async () => {
  const anonymous = await fetch(url('/ui/api/repositories'));
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.headers.get('www-authenticate'), null, 'a browser would prompt for a password itself');
  const post = (body: string, headers: Record<string, string>): Promise<Response> => fetch(url('/ui/api/session'), { method: 'POST', headers, body });
  const good = JSON.stringify({ user: TEST_USER, password: TEST_PASSWORD });
  const wrong = await post(JSON.stringify({ user: TEST_USER, password: 'wrong-password' }), { 'Content-Type': 'application/json' });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.headers.get('set-cookie'), null);
  assert.equal((await post(good, { 'Content-Type': 'text/plain' })).status, 400, 'a form or text body (no CORS preflight) is refused');
  assert.equal((await post('{"user":', { 'Content-Type': 'application/json' })).status, 400);
  assert.equal((await post(JSON.stringify({ user: TEST_USER }), { 'Content-Type': 'application/json' })).status, 400);
  assert.equal((await post(good, { 'Content-Type': 'application/json', Origin: 'http://evil.example' })).status, 403);
  assert.equal((await post(good, { 'Content-Type': 'application/json', 'Sec-Fetch-Site': 'cross-site' })).status, 403);
  assert.equal((await post(good, { 'Content-Type': 'application/json', Origin: registry.url, 'Sec-Fetch-Site': 'same-origin' })).status, 200);
});

test('the session cookie reads /v2 but never writes it; an unknown cookie is a 401 without a challenge', async () => {
  const session = await signIn();
  const catalog = await fetch(url('/v2/_catalog'), { headers: { Cookie: session.cookie } });
  assert.equal(catalog.status, 200);
  for (const method of ['DELETE', 'PUT', 'POST', 'PATCH']) {
    const write = await fetch(url('/v2/app/manifests/latest'), { method, headers: { Cookie: session.cookie } });
    assert.equal(write.status, 401, `${method} with only the cookie`);
    assert.match(write.headers.get('www-authenticate') ?? '', /^Basic /, 'writes need real credentials');
  }
  const forged = await fetch(url('/v2/_catalog'), { headers: { Cookie: `berth_session=${'A'.repeat(43)}` } });
  assert.equal(forged.status, 401);
  assert.equal(forged.headers.get('www-authenticate'), null);
  const plain = await fetch(url('/v2/_catalog'));
  assert.equal(plain.status, 401);
  assert.match(plain.headers.get('www-authenticate') ?? '', /^Basic realm=/, 'clients without the cookie see the registry as before');
});

test('actions: the CSRF token, this origin and a well-formed body are all required; bad names and unknown tags get OCI errors', async () => {
  const session = await signIn();
  const noToken = await fetch(url('/ui/api/actions/gc'), { method: 'POST', headers: { Cookie: session.cookie, 'Content-Type': 'application/json' }, body: '{}' });
  assert.equal(noToken.status, 403);
  assert.equal(await errorCode(noToken), 'DENIED');
  assert.equal((await action(session, '/ui/api/actions/gc', {}, { Origin: 'http://evil.example' })).status, 403);
  assert.equal((await action({ ...session, csrf: 'x'.repeat(43) }, '/ui/api/actions/gc', {})).status, 403);
  const badBody = await action(session, '/ui/api/actions/delete-tag', 'not json');
  assert.equal(badBody.status, 400);
  assert.equal(await errorCode(badBody), 'REQUEST_INVALID');
  const badName = await action(session, '/ui/api/actions/delete-tag', { repository: '../etc', tag: 'v1' });
  assert.equal(badName.status, 400);
  assert.equal(await errorCode(badName), 'NAME_INVALID');
  const badDigest = await action(session, '/ui/api/actions/delete-manifest', { repository: 'app', digest: 'sha256:zz' });
  assert.equal(await errorCode(badDigest), 'DIGEST_INVALID');
  const unknown = await action(session, '/ui/api/actions/delete-tag', { repository: 'app', tag: 'v1' });
  assert.equal(unknown.status, 404);
  assert.equal(await errorCode(unknown), 'MANIFEST_UNKNOWN');
  const badFlag = await action(session, '/ui/api/actions/gc', { dryRun: 'yes' });
  assert.equal(badFlag.status, 400);
  const tooBig = await action(session, '/ui/api/actions/delete-tag', { repository: 'a'.repeat(20_000), tag: 'v1' });
  assert.equal(tooBig.status, 413);
  const readBadly = await fetch(url('/ui/api/tags?name=..%2Fetc'), { headers: { Cookie: session.cookie } });
  assert.equal(await errorCode(readBadly), 'NAME_INVALID');
  const badPage = await fetch(url('/ui/api/repositories?offset=-1'), { headers: { Cookie: session.cookie } });
  assert.equal(badPage.status, 400);
});

test('sign-out ends the session; a password change ends the sessions opened with the old one', async () => {
  const first = await signIn();
  const out = await fetch(url('/ui/api/session'), { method: 'DELETE', headers: { Cookie: first.cookie, 'X-Berth-CSRF': first.csrf } });
  assert.equal(out.status, 204);
  assert.match(out.headers.get('set-cookie') ?? '', /Max-Age=0/);
  assert.equal((await fetch(url('/ui/api/session'), { headers: { Cookie: first.cookie } })).status, 401);

  const second = await signIn();
  await writeHtpasswd(NEW_PASSWORD);
  const deadline = Date.now() + 10_000;
  let status = 200;
  while (status === 200 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    status = (await fetch(url('/ui/api/session'), { headers: { Cookie: second.cookie } })).status;
  }
  assert.equal(status, 401, 'the old session ended once the htpasswd changed');
  await signIn(NEW_PASSWORD);
  await writeHtpasswd(TEST_PASSWORD);
});

test('repeated wrong sign-ins from one address are answered 429 for a while', async () => {
  const attempt = (): Promise<Response> =>
    fetch(url('/ui/api/session'), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ user: TEST_USER, password: 'wrong-password' }) });
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) statuses.push((await attempt()).status);
  assert.deepEqual(statuses.slice(0, 2), [401, 401]);
  const blocked = await attempt();
  assert.equal(blocked.status, 429);
  assert.ok(Number(blocked.headers.get('retry-after')) > 0);
});

test('with --workers 2, a session opened on one worker is accepted by the other (signed with the shared secret)', async () => {
  const served = await startBerthProcess(['--workers', '2', '--htpasswd', htpasswd]);
  try {
    // /v2/ answers once one worker listens; the primary says when both do.
    await waitFor('both workers listening', async () => ((await served.logs()).includes('"workers":2,"msg":"registry listening"') ? true : undefined));
    const response = await fetch(`${served.url}/ui/api/session`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ user: TEST_USER, password: TEST_PASSWORD }),
    });
    assert.equal(response.status, 200);
    const cookie = response.headers.get('set-cookie')!.split(';')[0]!;
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push(await getOnNewConnection(served.host, i % 2 === 0 ? '/ui/api/session' : '/v2/_catalog', cookie));
    assert.deepEqual(statuses, Array(8).fill(200));
  } finally {
    await served.stop();
  }
  // Read once the processes have exited: workers write their logs asynchronously.
  const answered = (await served.logs()).split('\n').filter((line) => /"path":"\/(ui\/api\/session|v2\/_catalog)","status":200/.test(line));
  const pids = new Set(answered.map((line) => (JSON.parse(line) as { pid: number }).pid));
  assert.ok(pids.size >= 2, `the requests were answered by ${pids.size} worker(s)`);
});
