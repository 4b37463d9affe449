// berth shim between crictl and Debian's containerd 1.6, with a Berth registry as the
// private registry and Debian's docker-registry as the public one (docker.io points
// there). The routing cases shared with 1.7 and 2.x are in support/shim-routing-cases.ts.
// Which registry served each pull is read from that registry's own request log, and
// the pulled digest from containerd; never from the shim.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { TEST_PASSWORD, TEST_USER } from '../support/berth.js';
import { stopAll } from '../support/process.js';
import { PUBLIC_PASSWORD, ShimLab, berthRequests, fetched } from '../support/shim-lab.js';
import { SANDBOX, absentFromPrivate, digestPinned, inspectImage, podThroughShim, presentInPrivate, pullAndWatch } from '../support/shim-routing-cases.js';
import { writeShimConfig } from '../support/shim.js';
import { removeScratchDirs } from '../support/tmp.js';

let lab: ShimLab;

before(async () => {
  // The sandbox image is named docker.io/..., and is pre-pulled in the pod case (CRI
  // pulls it with no credentials of its own otherwise).
  lab = await ShimLab.create({ containerd: { sandboxImage: SANDBOX } });
  await lab.startShim();
});

after(async () => {
  await lab?.stop();
  await stopAll();
  await removeScratchDirs();
});

test('present in the private registry: the pull goes there, with the private credentials, not kubelet\'s', () => presentInPrivate(lab));

test('absent from the private registry: the pull goes to the public one, with the caller\'s credentials', () => absentFromPrivate(lab));

test('a digest reference is pulled by exactly that digest, or fails; the tag is never substituted', () => digestPinned(lab));

test('crictl images, inspecti and rmi work for rewritten images', async () => {
  const image = await lab.push('private', 'busybox-private', 'library/busybox:1.36');
  await lab.crictl(['pull', 'busybox:1.36']);
  const rewritten = `${lab.privateHost}/library/busybox:1.36`;
  const listed = JSON.parse((await lab.crictl(['images', '-o', 'json'])).stdout) as { images: Array<{ id: string; repoTags: string[] }> };
  const entry = listed.images.find((i) => i.repoTags.includes(rewritten));
  assert.ok(entry, `crictl images lists ${rewritten} (under the name it was pulled by)`);
  const status = await inspectImage(lab, 'busybox:1.36');
  assert.equal(status.id, entry.id);
  assert.deepEqual(status.repoDigests, [`${lab.privateHost}/library/busybox@${image.manifest.digest}`]);
  // crictl images with a name filter goes through ImageStatus too.
  assert.match((await lab.crictl(['images', 'docker.io/library/busybox:1.36'])).stdout, /busybox/);

  await lab.crictl(['rmi', 'docker.io/library/busybox:1.36']);
  assert.ok(![...(await lab.criImages()).keys()].some((name) => name.includes('library/busybox')), 'removed from containerd');
  const gone = await lab.crictl(['inspecti', 'busybox:1.36'], { allowFailure: true });
  assert.notEqual(gone.code, 0);
});

test('runp / create / start: a host-network pod whose container image came through the shim runs and exits 0', () => podThroughShim(lab));

test('a path prefix and prefixSourceRegistry: docker.io/library/prefixed:1 is pulled from <private>/mirror/docker.io/library/prefixed:1', async () => {
  const from = (await lab.shim!.lines()).length;
  await writeShimConfig(lab.configFile, lab.baseConfig({ address: `http://${lab.privateHost}/mirror`, prefixSourceRegistry: true }));
  await lab.shim!.waitForLine('the reload', (line) => line.msg === 'config reloaded; rewrite cache cleared', { from });
  try {
    const image = await lab.push('private', 'prefixed-private', 'mirror/docker.io/library/prefixed:1');
    await lab.push('private', 'prefixed-wrong-place', 'library/prefixed:1');
    const pull = await pullAndWatch(lab, ['docker.io/library/prefixed:1'], 'mirror/docker.io/library/prefixed');
    assert.ok(pull.fromPrivate >= 2, 'served from the prefixed path');
    assert.equal(fetched(berthRequests(pull.privateLog), 'library/prefixed').length, 0, 'the unprefixed repository was not used');
    assert.deepEqual((await inspectImage(lab, 'docker.io/library/prefixed:1')).repoDigests, [`${lab.privateHost}/mirror/docker.io/library/prefixed@${image.manifest.digest}`]);
  } finally {
    const restore = (await lab.shim!.lines()).length;
    await writeShimConfig(lab.configFile, lab.baseConfig());
    await lab.shim!.waitForLine('the reload', (line) => line.msg === 'config reloaded; rewrite cache cleared', { from: restore });
  }
});

test('the shim logged one decision per pull, and no credential', async () => {
  const log = await lab.shim!.logText();
  const decisions = (await lab.shim!.lines()).filter((line) => line.msg === 'rewrite decision' && line['action'] === 'PullImage');
  const nginx = decisions.find((d) => d['original'] === 'docker.io/library/nginx:1.23.3');
  assert.ok(nginx, 'a decision line for the nginx pull');
  assert.equal(nginx['result'], `${lab.privateHost}/library/nginx:1.23.3`);
  assert.equal(nginx['registry'], lab.privateHost);
  assert.equal(nginx['reason'], 'present');
  assert.equal(nginx['credentials'], 'replaced');
  for (const key of ['action', 'original', 'result', 'registry', 'cache', 'reason']) assert.ok(key in nginx, `decision lines carry ${key}`);
  for (const secret of [TEST_PASSWORD, PUBLIC_PASSWORD, Buffer.from(`${TEST_USER}:${TEST_PASSWORD}`).toString('base64')]) {
    assert.ok(!log.includes(secret), 'no password in the shim log');
  }
  assert.ok((await readFile(lab.shim!.logFile, 'utf8')).length > 0);
});
