// The accessControl policy with real clients (skopeo, crane) and raw HTTP, Basic auth:
// users and groups x repository globs x actions, anonymous pull of a public prefix, the
// catalog filtered per caller, tag overwrite denied, a mount without pull on its source
// falling back to an upload, robots bounded by their own globs and actions, expired and
// deleted robots refused, and every denial logged and counted without secrets.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { readRegistryConfigDocument } from '../../src/registry/config.js';
import { createRobot, errorCodes, requestAs, writeHtpasswd, type Caller, type Robot } from '../support/access.js';
import { startBerth, type TestRegistry } from '../support/berth.js';
import { craneAs } from '../support/crane.js';
import { LayoutWriter, writeImage, type BuiltImage } from '../support/images.js';
import { freePort } from '../support/net.js';
import { run, stopAll, waitFor } from '../support/process.js';
import { skopeo } from '../support/skopeo.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';
import { BERTH_BIN } from '../support/tools.js';

const alice: Caller = { user: 'alice', password: 'alice-pw-1' }; // ops: admin
const bob: Caller = { user: 'bob', password: 'bob-pw-2' }; // ci: push to library/**
const carol: Caller = { user: 'carol', password: 'carol-pw-3' }; // prod/** and secret/*

const POLICY = {
  groups: { ops: ['alice'], ci: ['bob', 'robot$ci'] },
  admins: { groups: ['ops'] },
  repositories: {
    '**': { authenticated: ['pull'] },
    'public/**': { anonymous: ['pull'], authenticated: ['pull'] },
    'library/**': { authenticated: ['pull'], rules: [{ groups: ['ci'], actions: ['pull', 'push'] }] },
    'prod/**': { rules: [{ users: ['carol'], actions: ['pull', 'push', 'delete', 'overwrite'] }] },
    'secret/*': { rules: [{ users: ['carol'], actions: ['pull'] }] },
  },
};

let registry: TestRegistry;
let htpasswdFile: string;
let metricsUrl: string;
let work: string;
let nodes: Robot;
let ci: Robot;
const images = new Map<string, BuiltImage>();

async function layout(seed: string): Promise<string> {
  const dir = path.join(work, 'layouts', seed);
  if (!images.has(seed)) {
    const writer = new LayoutWriter(dir);
    const built = await writeImage(writer, { seed, layers: 1, layerSize: 8 * 1024 });
    writer.tag(built.manifest, 'image');
    await writer.save();
    images.set(seed, built);
  }
  return dir;
}

function creds(caller: Caller | Robot): string {
  return 'password' in caller ? `${caller.user}:${caller.password}` : `${caller.user}:${caller.secret}`;
}

function asCaller(robot: Robot): Caller {
  return { user: robot.user, password: robot.secret };
}

/** skopeo copy of image `seed` to `repository:tag` as `caller`. */
function skopeoPush(seed: string, target: string, caller: Caller | Robot): Promise<{ code: number | null; stderr: string }> {
  return layout(seed).then((dir) =>
    skopeo(['copy', '--retry-times', '0', '--dest-tls-verify=false', '--dest-creds', creds(caller), `oci:${dir}:image`, `docker://${registry.host}/${target}`], { allowFailure: true }),
  );
}

before(async () => {
  work = await scratchDir('access-policy-');
  const htpasswd = path.join(work, 'htpasswd');
  htpasswdFile = htpasswd;
  await writeHtpasswd(htpasswd, { alice: alice.password, bob: bob.password, carol: carol.password, 'robot$ghost': 'ghost-pw-4' });
  const parsed = readRegistryConfigDocument({ accessControl: POLICY });
  assert.ok(parsed.ok);
  const metricsPort = await freePort();
  metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  registry = await startBerth({ htpasswd, config: { ...parsed.values, metricsAddr: `127.0.0.1:${metricsPort}` } });
  nodes = await createRobot(registry.dataDir, 'nodes', '**', 'pull');
  ci = await createRobot(registry.dataDir, 'ci', 'library/**', 'pull,push');
  // The admin seeds one image per area.
  for (const [seed, target] of [['public', 'public/app:1'], ['library', 'library/nginx:1'], ['prod', 'prod/api:1'], ['secret', 'secret/db:1'], ['other', 'other/tool:1']] as const) {
    const pushed = await skopeoPush(seed, target, alice);
    assert.equal(pushed.code, 0, pushed.stderr);
  }
});

after(async () => {
  await registry?.stop();
  await stopAll();
  await removeScratchDirs();
});

test('raw HTTP: each caller gets what the longest matching glob gives, 401 without credentials, 403 DENIED naming repository and action', async () => {
  const manifest = (repository: string): string => `${registry.url}/v2/${repository}/manifests/1`;
  const rows: Array<[string, Caller | undefined, string, string, number]> = [
    ['anonymous pulls the public prefix', undefined, 'GET', manifest('public/app'), 200],
    ['anonymous cannot pull elsewhere', undefined, 'GET', manifest('library/nginx'), 401],
    ['anonymous cannot push to public', undefined, 'POST', `${registry.url}/v2/public/app/blobs/uploads/`, 401],
    ['anonymous: the version check asks for credentials', undefined, 'GET', `${registry.url}/v2/`, 401],
    ['bob pulls library (his group)', bob, 'GET', manifest('library/nginx'), 200],
    ['bob pulls anything ** gives', bob, 'GET', manifest('other/tool'), 200],
    ['bob may not pull prod (prod/** is longer than **)', bob, 'GET', manifest('prod/api'), 403],
    ['bob may not pull secret/*', bob, 'GET', manifest('secret/db'), 403],
    ['bob may not push outside library', bob, 'POST', `${registry.url}/v2/other/tool/blobs/uploads/`, 403],
    ['bob may push into library', bob, 'POST', `${registry.url}/v2/library/nginx/blobs/uploads/`, 202],
    ['bob may not delete in library', bob, 'DELETE', manifest('library/nginx'), 403],
    ['carol pulls secret/db', carol, 'GET', manifest('secret/db'), 200],
    ['secret/* does not reach secret/db/x: ** decides there', carol, 'GET', `${registry.url}/v2/secret/db/x/tags/list`, 404],
    ['carol may not push to library', carol, 'POST', `${registry.url}/v2/library/nginx/blobs/uploads/`, 403],
    ['alice (ops, admin) deletes in other', alice, 'DELETE', `${registry.url}/v2/other/tool/manifests/${images.get('other')!.manifest.digest}`, 202],
    ['robot$nodes pulls', asCaller(nodes), 'GET', manifest('library/nginx'), 200],
    ['robot$nodes may not push where the policy would let it pull', asCaller(nodes), 'POST', `${registry.url}/v2/library/nginx/blobs/uploads/`, 403],
    ['robot$nodes stays out of secret (the policy narrows it)', asCaller(nodes), 'GET', manifest('secret/db'), 403],
    ['robot$ci pushes to library (bounds and group agree)', asCaller(ci), 'POST', `${registry.url}/v2/library/nginx/blobs/uploads/`, 202],
    ['robot$ci may not pull public: its bounds are library/**', asCaller(ci), 'GET', manifest('public/app'), 403],
  ];
  for (const [what, caller, method, url, expected] of rows) {
    const answer = await requestAs(url, caller, { method });
    assert.equal(answer.status, expected, `${what}: ${method} ${url} -> ${answer.status} ${answer.body}`);
    if (expected === 401) assert.match(answer.headers.get('www-authenticate') ?? '', /^Basic realm=/, what);
    if (expected === 403) {
      assert.deepEqual(errorCodes(answer.body), ['DENIED'], what);
      const detail = (JSON.parse(answer.body) as { errors: Array<{ detail: { repository: string; action: string } }> }).errors[0]!.detail;
      const repository = new URL(url).pathname.replace(/^\/v2\//, '').replace(/\/(manifests|blobs|tags)\/.*$/, '');
      assert.equal(detail.repository, repository, what);
      assert.ok(['pull', 'push', 'delete'].includes(detail.action), what);
    }
  }
});

test('the catalog lists only what the caller may pull', async () => {
  const list = async (caller: Caller | undefined): Promise<string[]> => {
    const answer = await requestAs(`${registry.url}/v2/_catalog`, caller);
    assert.equal(answer.status, 200, answer.body);
    return (JSON.parse(answer.body) as { repositories: string[] }).repositories;
  };
  assert.deepEqual(await list(undefined), ['public/app']);
  assert.deepEqual(await list(bob), ['library/nginx', 'other/tool', 'public/app']);
  assert.deepEqual(await list(carol), ['library/nginx', 'other/tool', 'prod/api', 'public/app', 'secret/db']);
  assert.deepEqual(await list(alice), ['library/nginx', 'other/tool', 'prod/api', 'public/app', 'secret/db']);
  assert.deepEqual(await list(asCaller(ci)), ['library/nginx']);
  const crane = await craneAs(path.join(work, 'crane-anonymous'), registry.host);
  assert.deepEqual((await crane.run(['catalog', registry.host])).stdout.trim().split('\n'), ['public/app']);
});

test('skopeo: anonymous pull of the public prefix, pushes as far as the policy goes, tag overwrite denied', async () => {
  const anonymous = await skopeo(['inspect', '--no-creds', '--tls-verify=false', `docker://${registry.host}/public/app:1`]);
  assert.equal((JSON.parse(anonymous.stdout) as { Digest: string }).Digest, images.get('public')!.manifest.digest);
  const refused = await skopeo(['inspect', '--no-creds', '--tls-verify=false', `docker://${registry.host}/library/nginx:1`], { allowFailure: true });
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /unauthorized|authentication required/i);

  assert.equal((await skopeoPush('bob-new', 'library/new:1', bob)).code, 0, 'bob pushes a new tag into library');
  const denied = await skopeoPush('bob-new', 'prod/new:1', bob);
  assert.notEqual(denied.code, 0);
  // skopeo first asks whether the blobs are there (HEAD: a 403 without a body).
  assert.match(denied.stderr, /denied|403 \(Forbidden\)/i);

  // library/new:1 exists: pushing the same image again moves nothing and is allowed;
  // another image under the same tag is an overwrite, which bob's group lacks.
  assert.equal((await skopeoPush('bob-new', 'library/new:1', bob)).code, 0, 'the same manifest again');
  const overwrite = await skopeoPush('bob-other', 'library/new:1', bob);
  assert.notEqual(overwrite.code, 0, 'an overwrite is refused');
  assert.match(overwrite.stderr, /denied/i);
  const tag = await requestAs(`${registry.url}/v2/library/new/manifests/1`, bob, { method: 'HEAD' });
  assert.equal(tag.headers.get('docker-content-digest'), images.get('bob-new')!.manifest.digest, 'the tag still points at the first image');
  // carol has overwrite on prod/**.
  assert.equal((await skopeoPush('carol-2', 'prod/api:1', carol)).code, 0, 'carol may overwrite in prod');
});

test('crane: pulls, copies and deletes as far as the policy goes', async () => {
  const craneBob = await craneAs(path.join(work, 'crane-bob'), registry.host, { user: bob.user, password: bob.password });
  assert.equal((await craneBob.run(['digest', `${registry.host}/library/nginx:1`])).stdout.trim(), images.get('library')!.manifest.digest);
  await craneBob.run(['copy', `${registry.host}/library/nginx:1`, `${registry.host}/library/nginx-copy:1`]);
  const fromSecret = await craneBob.run(['copy', `${registry.host}/secret/db:1`, `${registry.host}/library/db:1`], { allowFailure: true });
  assert.notEqual(fromSecret.code, 0);
  assert.match(fromSecret.stderr, /DENIED/);
  const toProd = await craneBob.run(['copy', `${registry.host}/library/nginx:1`, `${registry.host}/prod/nginx:1`], { allowFailure: true });
  assert.notEqual(toProd.code, 0);
  assert.match(toProd.stderr, /DENIED|403 Forbidden/);
  const deleted = await craneBob.run(['delete', `${registry.host}/library/nginx-copy@${images.get('library')!.manifest.digest}`], { allowFailure: true });
  assert.notEqual(deleted.code, 0);
  assert.match(deleted.stderr, /DENIED/);
  const craneCarol = await craneAs(path.join(work, 'crane-carol'), registry.host, { user: carol.user, password: carol.password });
  await craneCarol.run(['copy', `${registry.host}/secret/db:1`, `${registry.host}/prod/db:1`]);
  assert.equal((await craneCarol.run(['digest', `${registry.host}/prod/db:1`])).stdout.trim(), images.get('secret')!.manifest.digest);
});

test('a mount without pull on the source falls back to an upload and links nothing', async () => {
  const secretLayer = images.get('secret')!.layers[0]!.digest;
  const libraryLayer = images.get('library')!.layers[0]!.digest;
  const mount = (caller: Caller, target: string, digest: string, from?: string): Promise<{ status: number }> =>
    requestAs(`${registry.url}/v2/${target}/blobs/uploads/?mount=${digest}${from ? `&from=${from}` : ''}`, caller, { method: 'POST' });
  assert.equal((await mount(bob, 'library/mounted', secretLayer, 'secret/db')).status, 202, 'no pull on secret/db: an upload session instead');
  assert.equal((await requestAs(`${registry.url}/v2/library/mounted/blobs/${secretLayer}`, bob, { method: 'HEAD' })).status, 404, 'the blob was not linked');
  assert.equal((await mount(bob, 'library/mounted', secretLayer)).status, 202, 'a mount from anywhere is for those who may pull everything');
  assert.equal((await mount(bob, 'library/mounted', libraryLayer, 'library/nginx')).status, 201, 'pull on the source: mounted');
  assert.equal((await mount(alice, 'library/mounted-admin', secretLayer)).status, 201, 'an admin may mount from anywhere');
});

test('robots: an expired one gets 401 saying so; a deleted one is refused within a second or two', async () => {
  const temporary = await createRobot(registry.dataDir, 'temporary', '**', 'pull', ['--expires', '2s']);
  const url = `${registry.url}/v2/public/app/manifests/1`;
  assert.equal((await requestAs(url, asCaller(temporary))).status, 200, 'works before it expires');
  const expired = await waitFor('the robot to expire', async () => {
    const answer = await requestAs(url, asCaller(temporary));
    return answer.status === 401 ? answer : undefined;
  }, 10_000);
  assert.deepEqual(errorCodes(expired.body), ['UNAUTHORIZED']);
  assert.match(expired.body, /robot account robot\$temporary expired at \d{4}-/);
  const skopeoExpired = await skopeo(['inspect', '--tls-verify=false', '--creds', creds(temporary), `docker://${registry.host}/library/nginx:1`], { allowFailure: true });
  assert.notEqual(skopeoExpired.code, 0);

  const doomed = await createRobot(registry.dataDir, 'doomed', '**', 'pull');
  assert.equal((await requestAs(url, asCaller(doomed))).status, 200);
  await run(process.execPath, [BERTH_BIN, 'registry', 'robot', 'delete', 'robot$doomed', '--data-dir', registry.dataDir]);
  await waitFor('the deleted robot to be refused', async () => ((await requestAs(url, asCaller(doomed))).status === 401 ? true : undefined), 5000);
  const listed = await run(process.execPath, [BERTH_BIN, 'registry', 'robot', 'list', '--json', '--data-dir', registry.dataDir]);
  const names = (JSON.parse(listed.stdout) as Array<{ name: string; expired: boolean }>).map((r) => `${r.name}${r.expired ? ' (expired)' : ''}`);
  assert.deepEqual(names, ['robot$ci', 'robot$nodes', 'robot$temporary (expired)']);
  assert.ok(!listed.stdout.includes('$2'), 'no hashes in the list');
});

test('robots with --htpasswd: the hash in that file, the bounds in the storage; an htpasswd robot line alone never signs in', async () => {
  const url = `${registry.url}/v2/public/app/manifests/1`;
  assert.equal((await requestAs(url, { user: 'robot$ghost', password: 'ghost-pw-4' })).status, 401, 'robot$ghost has a line but no record');
  const kept = await createRobot(registry.dataDir, 'kept', 'public/**', 'pull', ['--htpasswd', htpasswdFile]);
  const record = JSON.parse(await readFile(path.join(registry.dataDir, 'docker/registry/v2/_berth/robots/kept.json'), 'utf8')) as { secretHash: string | null };
  assert.equal(record.secretHash, null, 'no hash in the storage');
  assert.match(await readFile(htpasswdFile, 'utf8'), /^robot\$kept:\$2y\$10\$/m);
  await waitFor('the registry to re-read its htpasswd', async () => ((await requestAs(url, asCaller(kept))).status === 200 ? true : undefined), 5000);
  assert.equal((await requestAs(`${registry.url}/v2/library/nginx/manifests/1`, asCaller(kept))).status, 403, 'bounded to public/**');
  await run(process.execPath, [BERTH_BIN, 'registry', 'robot', 'delete', 'kept', '--data-dir', registry.dataDir, '--htpasswd', htpasswdFile]);
  assert.doesNotMatch(await readFile(htpasswdFile, 'utf8'), /robot\$kept:/);
  await waitFor('the deleted robot to be refused', async () => ((await requestAs(url, asCaller(kept))).status === 401 ? true : undefined), 5000);
});

test('/berth/v1/access tells a caller its own rights; every denial is logged and counted, without secrets', async () => {
  const report = JSON.parse((await requestAs(`${registry.url}/berth/v1/access`, bob)).body) as { caller: string; grants: Array<{ repositories: string; actions: string[] }> };
  assert.equal(report.caller, 'bob');
  assert.deepEqual(report.grants.find((g) => g.repositories === 'library/**')?.actions, ['pull', 'push']);
  assert.deepEqual(report.grants.find((g) => g.repositories === 'prod/**')?.actions, []);
  const robotReport = JSON.parse((await requestAs(`${registry.url}/berth/v1/access`, asCaller(nodes))).body) as { kind: string; grants: unknown };
  assert.equal(robotReport.kind, 'robot');
  assert.deepEqual(robotReport.grants, [{ repositories: '**', actions: ['pull'] }]);

  assert.equal((await requestAs(`${registry.url}/metrics`, alice)).status, 404, '/metrics is only on the metrics address');
  const metrics = await (await fetch(metricsUrl)).text();
  const denied = (action: string): number => Number(new RegExp(`berth_registry_access_denied_total\\{action="${action}",status="403"\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
  assert.ok(denied('pull') >= 4, `pull denials counted:\n${metrics.split('\n').filter((l) => l.includes('denied')).join('\n')}`);
  assert.ok(denied('push') >= 3);
  assert.ok(denied('overwrite') >= 1);
  const logs = await registry.logs();
  const lines = logs.split('\n').filter((line) => line.includes('"msg":"access denied"'));
  assert.ok(lines.some((line) => line.includes('"user":"bob"') && line.includes('"repository":"prod/api"') && line.includes('"action":"pull"')), 'the log names who, where and what');
  assert.ok(lines.some((line) => line.includes('"action":"overwrite"') && line.includes('"tag":"1"')));
  for (const secret of [bob.password, carol.password, nodes.secret, ci.secret]) assert.ok(!logs.includes(secret), 'no secret in the log');
});
