// The web UI under an access-control policy: a signed-in account sees and does in the UI
// exactly what the policy lets it do through the API (repositories it may pull, deletes
// where it may delete, GC for admins only), its session cookie reads /v2 with the same
// rights, and a robot account loses its UI session the moment it is deleted.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readRegistryConfigDocument } from '../../src/registry/config.js';
import { createRobot, errorCodes, requestAs, writeHtpasswd, type Caller, type Robot } from '../support/access.js';
import { startBerth, type TestRegistry } from '../support/berth.js';
import { rawImage } from '../support/images.js';
import { freePort } from '../support/net.js';
import { run, stopAll, waitFor } from '../support/process.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';
import { BERTH_BIN } from '../support/tools.js';

const alice: Caller = { user: 'alice', password: 'alice-pw-1' };
const bob: Caller = { user: 'bob', password: 'bob-pw-2' };
const POLICY = {
  admins: { users: ['alice'] },
  repositories: {
    '**': { authenticated: [] },
    // The robot's own bounds (pull on library/**) keep it from deleting all the same.
    'library/**': { rules: [{ users: ['bob', 'robot$viewer'], actions: ['pull', 'delete'] }] },
  },
};

let registry: TestRegistry;
let viewer: Robot;

interface Session {
  readonly cookie: string;
  readonly csrf: string;
}

async function signIn(caller: Caller): Promise<Session> {
  const response = await fetch(`${registry.url}/ui/api/session`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(caller) });
  assert.equal(response.status, 200, `${caller.user} signs in`);
  const cookie = response.headers.get('set-cookie')!.split(';')[0]!;
  return { cookie, csrf: ((await response.json()) as { csrfToken: string }).csrfToken };
}

async function uiGet<T>(session: Session, pathname: string): Promise<{ status: number; body: T }> {
  const response = await fetch(`${registry.url}${pathname}`, { headers: { Cookie: session.cookie } });
  return { status: response.status, body: (await response.json()) as T };
}

async function uiAction(session: Session, pathname: string, body: unknown): Promise<{ status: number; body: string }> {
  const response = await fetch(`${registry.url}${pathname}`, {
    method: 'POST',
    headers: { Cookie: session.cookie, 'Content-Type': 'application/json', 'X-Berth-CSRF': session.csrf, Origin: registry.url },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.text() };
}

/** Pushes a small image as `caller` over the raw API (monolithic blob uploads). */
async function push(caller: Caller, repository: string, tags: readonly string[]): Promise<void> {
  const { blobs, manifest } = rawImage({ repository }, [Buffer.from(`layer of ${repository}`)]);
  for (const blob of blobs) {
    const put = await requestAs(`${registry.url}/v2/${repository}/blobs/uploads/?digest=${blob.digest}`, caller, { method: 'POST', body: blob.bytes });
    assert.equal(put.status, 201, put.body);
  }
  for (const tag of tags) {
    const put = await requestAs(`${registry.url}/v2/${repository}/manifests/${tag}`, caller, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
      body: manifest,
    });
    assert.equal(put.status, 201, put.body);
  }
}

before(async () => {
  const work = await scratchDir('ui-access-');
  const htpasswd = path.join(work, 'htpasswd');
  await writeHtpasswd(htpasswd, { alice: alice.password, bob: bob.password });
  const parsed = readRegistryConfigDocument({ accessControl: POLICY });
  assert.ok(parsed.ok);
  registry = await startBerth({ htpasswd, config: parsed.values });
  viewer = await createRobot(registry.dataDir, 'viewer', 'library/**', 'pull');
  await push(alice, 'library/app', ['1', '2']);
  await push(alice, 'prod/api', ['1']);
});

after(async () => {
  await registry?.stop();
  await stopAll();
  await removeScratchDirs();
});

test('a user sees only the repositories it may pull, deletes only where it may delete, and may not start a GC', async () => {
  const session = await signIn(bob);
  const repositories = await uiGet<{ items: Array<{ name: string }> }>(session, '/ui/api/repositories');
  assert.deepEqual(
    repositories.body.items.map((item) => item.name),
    ['library/app'],
  );
  const hidden = await uiGet<unknown>(session, '/ui/api/tags?name=prod/api');
  assert.equal(hidden.status, 403);
  const tags = await uiGet<{ canDelete: boolean }>(session, '/ui/api/tags?name=library/app');
  assert.equal(tags.body.canDelete, true);
  const storage = await uiGet<{ canGc: boolean; largest: Array<{ name: string }> }>(session, '/ui/api/storage');
  assert.equal(storage.body.canGc, false);
  assert.deepEqual(
    storage.body.largest.map((item) => item.name),
    ['library/app'],
  );

  const deniedDelete = await uiAction(session, '/ui/api/actions/delete-tag', { repository: 'prod/api', tag: '1' });
  assert.equal(deniedDelete.status, 403);
  assert.deepEqual(errorCodes(deniedDelete.body), ['DENIED']);
  const deniedGc = await uiAction(session, '/ui/api/actions/gc', { dryRun: true, deleteUntagged: false });
  assert.equal(deniedGc.status, 403);
  const deleted = await uiAction(session, '/ui/api/actions/delete-tag', { repository: 'library/app', tag: '2' });
  assert.equal(deleted.status, 200, deleted.body);

  // The cookie reads /v2 with the same rights.
  const own = await fetch(`${registry.url}/v2/library/app/manifests/1`, { headers: { Cookie: session.cookie, Accept: 'application/vnd.oci.image.manifest.v1+json' } });
  assert.equal(own.status, 200);
  const other = await fetch(`${registry.url}/v2/prod/api/manifests/1`, { headers: { Cookie: session.cookie, Accept: 'application/vnd.oci.image.manifest.v1+json' } });
  assert.equal(other.status, 403);
  assert.deepEqual(errorCodes(await other.text()), ['DENIED']);
});

test('an admin of the policy sees every repository and may start a GC', async () => {
  const session = await signIn(alice);
  const repositories = await uiGet<{ items: Array<{ name: string }> }>(session, '/ui/api/repositories');
  assert.deepEqual(repositories.body.items.map((item) => item.name).sort(), ['library/app', 'prod/api']);
  assert.equal((await uiGet<{ canGc: boolean }>(session, '/ui/api/storage')).body.canGc, true);
  const gc = await uiAction(session, '/ui/api/actions/gc', { dryRun: true, deleteUntagged: false });
  assert.equal(gc.status, 202, gc.body);
});

test('a robot signs in within its bounds (pull only, though the policy allows delete), and its session ends when the robot is deleted', async () => {
  const session = await signIn({ user: viewer.user, password: viewer.secret });
  const repositories = await uiGet<{ items: Array<{ name: string }> }>(session, '/ui/api/repositories');
  assert.deepEqual(
    repositories.body.items.map((item) => item.name),
    ['library/app'],
  );
  assert.equal((await uiGet<{ canDelete: boolean }>(session, '/ui/api/tags?name=library/app')).body.canDelete, false);
  const denied = await uiAction(session, '/ui/api/actions/delete-tag', { repository: 'library/app', tag: '1' });
  assert.equal(denied.status, 403);

  await run(process.execPath, [BERTH_BIN, 'registry', 'robot', 'delete', 'viewer', '--data-dir', registry.dataDir]);
  // The registry re-reads a robot's record at most a second after it last read it.
  await waitFor('the deleted robot to lose its session', async () => ((await fetch(`${registry.url}/ui/api/session`, { headers: { Cookie: session.cookie } })).status === 401 ? true : undefined), 5000);
  const read = await fetch(`${registry.url}/v2/library/app/manifests/1`, { headers: { Cookie: session.cookie } });
  assert.equal(read.status, 401);
  assert.equal(read.headers.get('www-authenticate'), null, 'no Basic challenge for a browser app');
});

test("with a pull-through mirror, the Storage page shows each upstream's health, the mirror's misses and the last failure", async () => {
  const closed = await freePort();
  const parsed = readRegistryConfigDocument({ mirrors: [{ source: 'docker.io', upstreams: [{ url: `http://127.0.0.1:${closed}`, timeout: '1s', breaker: { failureThreshold: 2, resetTimeout: '60s' } }] }] });
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
  const mirror = await startBerth({ auth: false, config: parsed.values });
  try {
    const session = await fetch(`${mirror.url}/ui/api/session`);
    const cookie = session.headers.get('set-cookie')!.split(';')[0]!;
    const report = async (): Promise<{ upstreams: Array<{ name: string; url: string; healthy: boolean; misses: number; lastError: string | null }> }> =>
      ((await (await fetch(`${mirror.url}/ui/api/storage`, { headers: { Cookie: cookie } })).json()) as { mirror: { upstreams: Array<{ name: string; url: string; healthy: boolean; misses: number; lastError: string | null }> } }).mirror;
    const fresh = await report();
    assert.deepEqual(fresh.upstreams, [{ name: 'docker.io', url: `http://127.0.0.1:${closed}`, healthy: true, hits: 0, misses: 0, lastError: null }]);
    for (const tag of ['1', '2']) {
      const missing = await fetch(`${mirror.url}/v2/docker.io/library/nginx/manifests/${tag}`);
      assert.equal(missing.status, 404);
    }
    const [upstream] = (await report()).upstreams;
    assert.equal(upstream?.healthy, false, 'two failures open the breaker');
    assert.match(upstream?.lastError ?? '', /^unreachable: /);
  } finally {
    await mirror.stop();
  }
});
