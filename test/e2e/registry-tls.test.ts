// TLS: skopeo (which verifies certificates) and curl --cacert against Berth over HTTPS,
// client-certificate mTLS, and a certificate swap picked up on SIGHUP.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { startBerthProcess, TEST_PASSWORD, TEST_USER } from '../support/berth.js';
import { makePki } from '../support/certs.js';
import { LayoutWriter, writeImage } from '../support/images.js';
import { run, stopAll, waitFor } from '../support/process.js';
import { skopeo } from '../support/skopeo.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';
import { tool } from '../support/tools.js';

after(async () => {
  await stopAll();
  await removeScratchDirs();
});

function curl(args: string[]) {
  return run(tool('curl'), ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-u', `${TEST_USER}:${TEST_PASSWORD}`, ...args], { allowFailure: true });
}

test('HTTPS with a custom CA: skopeo verifies and pushes, curl --cacert works, no CA fails', async () => {
  const work = await scratchDir('tls-');
  const pki = await makePki(work);
  const registry = await startBerthProcess(['--tls-cert', pki.serverCert, '--tls-key', pki.serverKey], { https: true, caFile: pki.caCert });
  try {
    const ok = await curl(['--cacert', pki.caCert, `https://${registry.host}/v2/`]);
    assert.equal(ok.stdout, '200');
    const untrusted = await curl([`https://${registry.host}/v2/`]);
    assert.notEqual(untrusted.code, 0);
    assert.match(untrusted.stderr, /certificate/i);

    const certDir = path.join(work, 'skopeo-certs');
    await mkdir(certDir);
    await copyFile(pki.caCert, path.join(certDir, 'ca.crt'));
    const layout = new LayoutWriter(path.join(work, 'img'));
    const image = await writeImage(layout, { seed: 'tls', layers: 1 });
    layout.tag(image.manifest, 'v1');
    await layout.save();
    await skopeo(['copy', '--dest-cert-dir', certDir, '--dest-creds', `${TEST_USER}:${TEST_PASSWORD}`, `oci:${layout.dir}:v1`, `docker://${registry.host}/secure/app:v1`]);
    const inspected = JSON.parse((await skopeo(['inspect', '--cert-dir', certDir, '--creds', `${TEST_USER}:${TEST_PASSWORD}`, `docker://${registry.host}/secure/app:v1`])).stdout) as { Digest: string };
    assert.equal(inspected.Digest, image.manifest.digest);
    // Without the CA skopeo refuses: verification is really on.
    const refused = await skopeo(['inspect', '--creds', `${TEST_USER}:${TEST_PASSWORD}`, `docker://${registry.host}/secure/app:v1`], { allowFailure: true });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /certificate|x509/i);
  } finally {
    await registry.stop();
  }
});

test('mTLS: a client certificate from the CA is required', async () => {
  const work = await scratchDir('mtls-');
  const pki = await makePki(work);
  const registry = await startBerthProcess(['--tls-cert', pki.serverCert, '--tls-key', pki.serverKey, '--tls-client-ca', pki.caCert], {
    https: true,
    caFile: pki.caCert,
    clientCert: pki.clientCert,
    clientKey: pki.clientKey,
  });
  try {
    const without = await curl(['--cacert', pki.caCert, `https://${registry.host}/v2/`]);
    assert.notEqual(without.stdout, '200');
    const withCert = await curl(['--cacert', pki.caCert, '--cert', pki.clientCert, '--key', pki.clientKey, `https://${registry.host}/v2/`]);
    assert.equal(withCert.stdout, '200');
    // skopeo presents client.cert/client.key from its cert dir.
    const certDir = path.join(work, 'skopeo-certs');
    await mkdir(certDir);
    for (const file of ['ca.crt', 'client.cert', 'client.key']) await copyFile(path.join(work, file), path.join(certDir, file));
    // An unknown repository: a 404 from the registry itself proves the handshake passed.
    const tags = await skopeo(['list-tags', '--cert-dir', certDir, '--creds', `${TEST_USER}:${TEST_PASSWORD}`, `docker://${registry.host}/none/here`], { allowFailure: true });
    assert.match(tags.stderr, /404/);
    const caOnly = path.join(work, 'ca-only');
    await mkdir(caOnly);
    await copyFile(pki.caCert, path.join(caOnly, 'ca.crt'));
    const refused = await skopeo(['list-tags', '--cert-dir', caOnly, '--creds', `${TEST_USER}:${TEST_PASSWORD}`, `docker://${registry.host}/none/here`], { allowFailure: true });
    assert.notEqual(refused.code, 0);
    assert.doesNotMatch(refused.stderr, /404/);
  } finally {
    await registry.stop();
  }
});

test('SIGHUP reloads the certificate without a restart', async () => {
  const work = await scratchDir('tls-reload-');
  const first = await makePki(await mkdirIn(work, 'first'), 'first');
  const second = await makePki(await mkdirIn(work, 'second'), 'second');
  const live = path.join(work, 'live');
  await mkdir(live);
  await copyFile(first.serverCert, path.join(live, 'server.crt'));
  await copyFile(first.serverKey, path.join(live, 'server.key'));
  const registry = await startBerthProcess(['--tls-cert', path.join(live, 'server.crt'), '--tls-key', path.join(live, 'server.key')], { https: true, caFile: first.caCert });
  try {
    assert.equal((await curl(['--cacert', first.caCert, `https://${registry.host}/v2/`])).stdout, '200');
    await copyFile(second.serverCert, path.join(live, 'server.crt'));
    await copyFile(second.serverKey, path.join(live, 'server.key'));
    registry.child.kill('SIGHUP');
    await waitFor('the new certificate to be served', async () => ((await curl(['--cacert', second.caCert, `https://${registry.host}/v2/`])).stdout === '200' ? true : undefined), 10_000);
    assert.notEqual((await curl(['--cacert', first.caCert, `https://${registry.host}/v2/`])).stdout, '200');
    assert.equal(registry.child.exitCode, null, 'the process kept running');
    assert.match(await registry.logs(), /TLS certificate reloaded/);
  } finally {
    await registry.stop();
  }
});

async function mkdirIn(parent: string, name: string): Promise<string> {
  const dir = path.join(parent, name);
  await mkdir(dir);
  return dir;
}
