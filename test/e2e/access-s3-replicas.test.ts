// Robots and token keys live in the storage, so replicas that share a bucket agree:
// two Berth processes on one SeaweedFS bucket, a robot created (and deleted) with
// `robot create --config` is accepted (and refused) by both within a second or two, and
// a token issued by one replica is accepted by the other (one signing key, in the bucket).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { requestAs, writeHtpasswd } from '../support/access.js';
import { startBerthProcess, TEST_PASSWORD, TEST_USER, type TestRegistry } from '../support/berth.js';
import { recordSecret } from '../support/logs.js';
import { run, stopAll, waitFor } from '../support/process.js';
import { startSeaweed, type Seaweed } from '../support/seaweedfs.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';
import { fetchToken } from '../support/tokens.js';
import { BERTH_BIN } from '../support/tools.js';

let seaweed: Seaweed;
let config: string;
let a: TestRegistry;
let b: TestRegistry;

before(async () => {
  seaweed = await startSeaweed();
  const work = await scratchDir('access-s3-');
  const htpasswd = path.join(work, 'htpasswd');
  await writeHtpasswd(htpasswd, { [TEST_USER]: TEST_PASSWORD });
  config = path.join(work, 'config.yaml');
  await writeFile(config, `${seaweed.berthYaml('replicas')}\nhtpasswd: ${htpasswd}\ntoken:\n  issue: true\n`);
  a = await startBerthProcess(['--config', config], { dataDir: false });
  b = await startBerthProcess(['--config', config], { dataDir: false });
});

after(async () => {
  await a?.stop();
  await b?.stop();
  await seaweed?.stop();
  await stopAll();
  await removeScratchDirs();
});

const berth = (args: readonly string[]) => run(process.execPath, [BERTH_BIN, 'registry', 'robot', ...args, '--config', config]);

test('a robot made with --config reaches every replica of the bucket, and so does its deletion', async () => {
  const created = JSON.parse((await berth(['create', 'nodes', '--repos', '**', '--actions', 'pull', '--json'])).stdout) as { name: string; secret: string };
  recordSecret(created.secret);
  const robot = { user: created.name, password: created.secret };
  for (const replica of [a, b]) {
    await waitFor(`${replica.host} to accept the robot`, async () => ((await requestAs(`${replica.url}/v2/`, robot)).status === 200 ? true : undefined), 5000);
    assert.equal((await requestAs(`${replica.url}/v2/x/blobs/uploads/`, robot, { method: 'POST' })).status, 403, 'pull only');
  }
  assert.match((await berth(['list'])).stdout, /robot\$nodes/);
  await berth(['delete', 'nodes']);
  for (const replica of [a, b]) {
    await waitFor(`${replica.host} to refuse the deleted robot`, async () => ((await requestAs(`${replica.url}/v2/`, robot)).status === 401 ? true : undefined), 5000);
  }
});

test('a token issued by one replica is accepted by the other: they sign with the key kept in the bucket', async () => {
  const token = await fetchToken(a.url, 'berth-registry', ['repository:shared/app:pull,push'], { user: TEST_USER, password: TEST_PASSWORD });
  const answer = await requestAs(`${b.url}/v2/shared/app/blobs/uploads/`, undefined, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  assert.equal(answer.status, 202, answer.body);
});
