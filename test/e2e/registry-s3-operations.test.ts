// Operating Berth on S3 (SeaweedFS, auth on): an upload begun on one Berth process is
// continued and finished by another that shares the HTTP secret (chunks alternating,
// parts of every size); forged, foreign and stale upload states are refused; the engine
// stopped mid-push gives the client a 503 with an OCI error, /readyz turns 503, nothing
// half-written shows, and serving resumes on its own once the engine is back; wrong
// credentials, a missing bucket or an unreachable engine stop start-up with one line;
// fsck checks the bucket.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startBerthProcess, TEST_PASSWORD, TEST_USER, type TestRegistry } from '../support/berth.js';
import { oneErrorLine } from '../support/cli-sandbox.js';
import { LayoutWriter, writeImage } from '../support/images.js';
import { basicAuth, freePort } from '../support/net.js';
import { run, stopAll, waitFor } from '../support/process.js';
import { BucketLayout } from '../support/s3-layout.js';
import { startSeaweed, type Seaweed } from '../support/seaweedfs.js';
import { skopeoCopy } from '../support/skopeo.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';
import { BERTH_BIN } from '../support/tools.js';

let seaweed: Seaweed;
let work: string;

before(async () => {
  seaweed = await startSeaweed();
  work = await scratchDir('s3-ops-');
});

after(async () => {
  await seaweed?.stop();
  await stopAll();
  await removeScratchDirs();
});

const AUTH = { authorization: basicAuth(TEST_USER, TEST_PASSWORD) };
const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

async function configFile(name: string, text: string): Promise<string> {
  const file = path.join(work, `${name}.yaml`);
  await writeFile(file, text);
  return file;
}

async function patch(registry: TestRegistry, location: string, chunk: Buffer, start: number): Promise<Response> {
  return fetch(`${registry.url}${location}`, {
    method: 'PATCH',
    headers: { ...AUTH, 'content-type': 'application/octet-stream', 'content-range': `${start}-${start + chunk.length - 1}`, 'content-length': String(chunk.length) },
    body: chunk,
  });
}

test('an upload begun on one process is continued by another and finished by the first, chunk by chunk', async () => {
  const config = await configFile('shared', `${seaweed.berthYaml('continuation')}\nhttpSecret: shared-secret-for-every-replica\n`);
  const a = await startBerthProcess(['--config', config], { dataDir: false });
  const b = await startBerthProcess(['--config', config], { dataDir: false });
  const blob = randomBytes(12 * 1024 * 1024 + 4321);
  const digest = sha256(blob);
  const started = await fetch(`${a.url}/v2/cont/app/blobs/uploads/`, { method: 'POST', headers: AUTH });
  assert.equal(started.status, 202);
  let location = started.headers.get('location')!;
  assert.match(location, /\?_state=/);
  // Chunk sizes below, at and above S3's 5 MiB part minimum, on alternating processes.
  const sizes = [100_000, 6 * 1024 * 1024, 77, 5 * 1024 * 1024];
  const replicas = [b, a, b, a];
  let offset = 0;
  const locations: string[] = [];
  for (let i = 0; i < sizes.length; i++) {
    const response = await patch(replicas[i]!, location, blob.subarray(offset, offset + sizes[i]!), offset);
    assert.equal(response.status, 202, `${i}: ${await response.text()}`);
    offset += sizes[i]!;
    assert.equal(response.headers.get('range'), `0-${offset - 1}`);
    locations.push(location);
    location = response.headers.get('location')!;
  }
  // Status from the other process.
  const status = await fetch(`${b.url}${location}`, { headers: AUTH });
  assert.equal(status.status, 204);
  assert.equal(status.headers.get('range'), `0-${offset - 1}`);

  // A stale Location (the state of two chunks ago) is refused, whatever its Content-Range says.
  const stale = await patch(b, locations[1]!, Buffer.from('x'), offset);
  assert.equal(stale.status, 416);
  // A forged state, and one signed by a registry with another secret, are refused.
  const forged = location.replace(/_state=[^&]+/, (state) => `${state.slice(0, -3)}AAA`);
  assert.equal((await patch(a, forged, Buffer.from('x'), offset)).status, 400);
  const stranger = await startBerthProcess(['--config', await configFile('stranger', `${seaweed.berthYaml('continuation')}\nhttpSecret: another-secret-entirely-here\n`)], { dataDir: false });
  const foreign = await patch(stranger, location, Buffer.from('x'), offset);
  assert.equal(foreign.status, 400);
  assert.equal(((await foreign.json()) as { errors: Array<{ code: string }> }).errors[0]?.code, 'BLOB_UPLOAD_INVALID');
  await stranger.stop();

  const finished = await fetch(`${b.url}${location}&digest=${digest}`, {
    method: 'PUT',
    headers: { ...AUTH, 'content-type': 'application/octet-stream', 'content-length': String(blob.length - offset) },
    body: blob.subarray(offset),
  });
  assert.equal(finished.status, 201, await finished.text());
  for (const registry of [a, b]) {
    const fetched = Buffer.from(await (await fetch(`${registry.url}/v2/cont/app/blobs/${digest}`, { headers: AUTH })).arrayBuffer());
    assert.equal(sha256(fetched), digest);
  }
  const bucket = new BucketLayout(seaweed.client(), seaweed.bucket, 'continuation');
  assert.equal(await bucket.uploadSessions('cont'), 0, 'the session is gone once committed');
  await a.stop();
  await b.stop();
});

test('the engine stopped mid-push: 503 with an OCI error, readyz 503, nothing half-written; back on its own', { timeout: 180_000 }, async () => {
  const config = await configFile('faults', `${seaweed.berthYaml('faults')}\nlogLevel: warn\n`);
  const registry = await startBerthProcess(['--config', config], { dataDir: false });
  const started = await fetch(`${registry.url}/v2/faults/app/blobs/uploads/`, { method: 'POST', headers: AUTH });
  const location = started.headers.get('location')!;
  const blob = randomBytes(40 * 1024 * 1024);
  let sent = 0;
  let stopped: Promise<void> | undefined;
  // The body trickles out; once 12 MiB are in, the engine goes away.
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent >= blob.length) {
        controller.close();
        return;
      }
      if (sent >= 12 * 1024 * 1024 && !stopped) stopped = seaweed.stop();
      await new Promise((resolve) => setTimeout(resolve, 20));
      const chunk = blob.subarray(sent, sent + 512 * 1024);
      sent += chunk.length;
      controller.enqueue(chunk);
    },
  });
  const response = await fetch(`${registry.url}${location}&digest=${sha256(blob)}`, {
    method: 'PUT',
    headers: { ...AUTH, 'content-type': 'application/octet-stream' },
    body,
    duplex: 'half',
  } as RequestInit);
  assert.ok(stopped, 'the engine was stopped during the push');
  await stopped;
  assert.equal(response.status, 503, await response.clone().text());
  const error = (await response.json()) as { errors: Array<{ code: string; message: string }> };
  assert.equal(error.errors[0]?.code, 'UNAVAILABLE');
  assert.doesNotMatch(JSON.stringify(error), new RegExp(seaweed.secretKey));

  await waitFor('readyz to answer 503', async () => ((await fetch(`${registry.url}/readyz`)).status === 503 ? true : undefined), 15_000);
  const tags = await fetch(`${registry.url}/v2/faults/app/tags/list`, { headers: AUTH });
  assert.equal(tags.status, 503);

  await seaweed.start();
  await waitFor('readyz to answer 200 again', async () => ((await fetch(`${registry.url}/readyz`)).status === 200 ? true : undefined), 30_000);
  const head = await fetch(`${registry.url}/v2/faults/app/blobs/${sha256(blob)}`, { method: 'HEAD', headers: AUTH });
  assert.equal(head.status, 404, 'the interrupted blob is not visible');
  const bucket = new BucketLayout(seaweed.client(), seaweed.bucket, 'faults');
  assert.equal(await bucket.blobExists(sha256(blob)), false);

  const layout = new LayoutWriter(path.join(work, 'after'));
  const image = await writeImage(layout, { seed: 's3-after-fault', layers: 1 });
  layout.tag(image.manifest, 'v1');
  await layout.save();
  await skopeoCopy(`oci:${layout.dir}:v1`, `docker://${registry.host}/faults/app:v1`, { dest: registry, extra: ['--preserve-digests'] });
  const manifest = await fetch(`${registry.url}/v2/faults/app/manifests/v1`, { method: 'HEAD', headers: { ...AUTH, accept: 'application/vnd.oci.image.manifest.v1+json' } });
  assert.equal(manifest.headers.get('docker-content-digest'), image.manifest.digest);
  await registry.stop();
});

test('wrong credentials, a missing bucket or an unreachable engine stop start-up with one line, and no secret', async () => {
  const port = await freePort();
  const cases: Array<[string, string, RegExp]> = [
    [
      'bad-credentials',
      seaweed.berthYaml('x', '', { credentials: false }).replace('    chunkSize', `    accessKey: ${seaweed.accessKey}\n    secretKey: not-the-secret\n    chunkSize`),
      /refused the credentials/,
    ],
    ['missing-bucket', seaweed.berthYaml('x').replace(`bucket: ${seaweed.bucket}`, 'bucket: no-such-bucket'), /bucket no-such-bucket does not exist/],
    ['unreachable', seaweed.berthYaml('x').replace(seaweed.endpoint, `http://127.0.0.1:${port}`), /unavailable|ECONNREFUSED|cannot be reached/i],
  ];
  for (const [name, text, expected] of cases) {
    const config = await configFile(name, text);
    const result = await run(process.execPath, [BERTH_BIN, 'registry', 'serve', '--config', config, '--addr', '127.0.0.1:0'], { allowFailure: true, timeoutMs: 60_000 });
    const line = oneErrorLine(result);
    assert.match(line, expected, `${name}: ${line}`);
    assert.doesNotMatch(`${result.stdout}${result.stderr}`, /not-the-secret|berth-test-secret-key/, `${name}: a secret was printed`);
  }
  // Without credentials anywhere (not in the file, not in the environment).
  const env = { ...process.env };
  delete env['AWS_ACCESS_KEY_ID'];
  delete env['AWS_SECRET_ACCESS_KEY'];
  const none = await run(process.execPath, [BERTH_BIN, 'registry', 'serve', '--config', await configFile('no-credentials', seaweed.berthYaml('x', '', { credentials: false }))], { allowFailure: true, env });
  assert.match(oneErrorLine(none), /no S3 credentials/);
  // From the environment, as registry:2 takes them.
  const fromEnv = await startBerthProcess(['--config', await configFile('env-credentials', seaweed.berthYaml('env', '', { credentials: false }))], { dataDir: false, env: { ...env, AWS_ACCESS_KEY_ID: seaweed.accessKey, AWS_SECRET_ACCESS_KEY: seaweed.secretKey } });
  assert.equal((await fetch(`${fromEnv.url}/v2/`, { headers: AUTH })).status, 200);
  await fromEnv.stop();
});

test('fsck reads the bucket: a corrupted blob object is found and moved aside', async () => {
  const config = await configFile('fsck', `${seaweed.berthYaml('fsck')}\n`);
  const registry = await startBerthProcess(['--config', config], { dataDir: false });
  const layout = new LayoutWriter(path.join(work, 'fsck'));
  const image = await writeImage(layout, { seed: 's3-fsck', layers: 2 });
  layout.tag(image.manifest, 'v1');
  await layout.save();
  await skopeoCopy(`oci:${layout.dir}:v1`, `docker://${registry.host}/fsck/app:v1`, { dest: registry, extra: ['--preserve-digests'] });
  await registry.stop();
  const clean = await run(process.execPath, [BERTH_BIN, 'registry', 'fsck', '--config', config, '--json']);
  const report = JSON.parse(clean.stdout) as { blobs: number; manifests: number; problems: unknown[] };
  assert.equal(report.blobs, 4);
  assert.equal(report.manifests, 1);
  assert.deepEqual(report.problems, []);

  const { PutObjectCommand } = await import('@aws-sdk/client-s3');
  const hex = image.layers[0]!.digest.slice(7);
  await seaweed.client().send(new PutObjectCommand({ Bucket: seaweed.bucket, Key: `fsck/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`, Body: 'tampered' }));
  const broken = await run(process.execPath, [BERTH_BIN, 'registry', 'fsck', '--config', config, '--repair', '--json'], { allowFailure: true });
  assert.equal(broken.code, 0, 'repaired problems leave a clean exit');
  const repaired = JSON.parse(broken.stdout) as { problems: Array<{ kind: string; path: string; repaired?: boolean }> };
  assert.ok(repaired.problems.some((p) => p.kind === 'blob-corrupt' && p.repaired && p.path.endsWith(hex)));
  const bucket = new BucketLayout(seaweed.client(), seaweed.bucket, 'fsck');
  assert.equal(await bucket.blobExists(image.layers[0]!.digest), false, 'the corrupt blob left the blob store');
});
