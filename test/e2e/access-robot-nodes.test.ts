// What a node gets: a pull-only robot. With its secret in image-cri-shim.yaml, kubelet's
// pulls (crictl) go through the shim to the private registry; with the same secret,
// pushes from skopeo, docker, ctr and crane get 403 DENIED (as does a delete), and the
// registry's data directory is byte for byte what it was.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { createRobot, errorCodes, requestAs, type Robot } from '../support/access.js';
import { craneAs } from '../support/crane.js';
import { startDockerd, type RunningDockerd } from '../support/dockerd.js';
import { stopAll } from '../support/process.js';
import { ShimLab, berthRequests, fetched } from '../support/shim-lab.js';
import { skopeo } from '../support/skopeo.js';
import { removeScratchDirs } from '../support/tmp.js';

let lab: ShimLab;
let nodes: Robot;
let dockerd: RunningDockerd | undefined;
let pushedDigest: string;

before(async () => {
  lab = await ShimLab.create();
  pushedDigest = (await lab.push('private', 'nodes-nginx', 'library/nginx:1.25')).manifest.digest;
  nodes = await createRobot(lab.privateDataDir, 'nodes', '**', 'pull');
  await lab.startShim(lab.baseConfig({ auth: `${nodes.user}:${nodes.secret}` }));
});

after(async () => {
  await dockerd?.stop();
  await lab?.stop();
  await stopAll();
  await removeScratchDirs();
});

/** Every file under the data directory with the hash of its content. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const walk = async (current: string): Promise<void> => {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) await walk(full);
      else files.set(path.relative(dir, full), createHash('sha256').update(await readFile(full)).digest('hex'));
    }
  };
  await walk(dir);
  return files;
}

test('crictl pulls through the shim with the pull-only robot of image-cri-shim.yaml', async () => {
  const cursor = lab.privateCursor();
  await cursor.mark();
  await lab.crictl(['pull', 'docker.io/library/nginx:1.25']);
  const requests = berthRequests(await cursor.since());
  assert.ok(fetched(requests, 'library/nginx').length >= 2, 'the private registry served the image');
  assert.deepEqual([...new Set(requests.filter((r) => r.status === 200).map((r) => r.user))], [nodes.user], 'as the robot');
  assert.equal((await lab.criImages()).get(`${lab.privateHost}/library/nginx:1.25`), pushedDigest);
});

test('pushes with the same robot from skopeo, docker, ctr and crane get 403 DENIED; the data directory is unchanged', async () => {
  const host = lab.privateHost;
  const creds = `${nodes.user}:${nodes.secret}`;
  const before = await snapshot(lab.privateDataDir);
  const { layout } = await lab.image('nodes-evil');

  const bySkopeo = await skopeo(['copy', '--retry-times', '0', '--dest-tls-verify=false', '--dest-creds', creds, `oci:${layout}:image`, `docker://${host}/library/nginx:1.25`], { allowFailure: true });
  assert.notEqual(bySkopeo.code, 0);
  assert.match(bySkopeo.stderr, /denied|403/i, bySkopeo.stderr);

  dockerd = await startDockerd(path.join(lab.work, 'dockerd'));
  await dockerd.docker(['login', '--username', nodes.user, '--password-stdin', host], { input: nodes.secret });
  await dockerd.docker(['pull', `${host}/library/nginx:1.25`]);
  await dockerd.docker(['tag', `${host}/library/nginx:1.25`, `${host}/library/nginx:evil`]);
  const byDocker = await dockerd.docker(['push', `${host}/library/nginx:evil`], { allowFailure: true });
  assert.notEqual(byDocker.code, 0);
  assert.match(byDocker.stderr, /denied: requested access to the resource is denied/, byDocker.stderr);

  await lab.containerd.ctr(['images', 'pull', '--plain-http', '--user', creds, `${host}/library/nginx:1.25`]);
  await lab.containerd.ctr(['images', 'tag', `${host}/library/nginx:1.25`, `${host}/library/evil:1`]);
  const byCtr = await lab.containerd.ctr(['images', 'push', '--plain-http', '--user', creds, `${host}/library/evil:1`], { allowFailure: true });
  assert.notEqual(byCtr.code, 0);
  assert.match(byCtr.stderr, /403|denied/i, byCtr.stderr);

  const crane = await craneAs(path.join(lab.work, 'crane-nodes'), host, { user: nodes.user, password: nodes.secret });
  const byCrane = await crane.run(['copy', `${host}/library/nginx:1.25`, `${host}/library/nginx:evil`], { allowFailure: true });
  assert.notEqual(byCrane.code, 0);
  assert.match(byCrane.stderr, /DENIED|403 Forbidden/, byCrane.stderr);
  const craneDelete = await crane.run(['delete', `${host}/library/nginx@${pushedDigest}`], { allowFailure: true });
  assert.match(craneDelete.stderr, /DENIED/, craneDelete.stderr);

  const raw = await requestAs(`http://${host}/v2/library/nginx/manifests/1.25`, { user: nodes.user, password: nodes.secret }, { method: 'DELETE' });
  assert.equal(raw.status, 403);
  assert.deepEqual(errorCodes(raw.body), ['DENIED']);

  assert.deepEqual(await snapshot(lab.privateDataDir), before, 'not one file of the data directory changed');
});
