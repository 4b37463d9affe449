// Hostile and broken requests against Berth (auth on), sent with fetch, node:http (for
// request paths fetch would normalise) and raw sockets (for bodies cut off midway).
// Each one gets the spec's error code and status, leaves no new visible file under
// docker/registry/v2 (upload sessions under _uploads aside: they are scratch space
// and purged), and leaves the server answering GET /v2/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { request } from 'node:http';
import { connect } from 'node:net';
import path from 'node:path';
import { startBerth, TEST_PASSWORD, TEST_USER } from '../support/berth.js';
import { LayoutWriter, seededBytes, sha256, writeImage, type BuiltImage } from '../support/images.js';
import { basicAuth } from '../support/net.js';
import { stopAll } from '../support/process.js';
import { skopeoCopy } from '../support/skopeo.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';

type Registry = Awaited<ReturnType<typeof startBerth>>;

let registry: Registry;
let port: number;
let base: BuiltImage;

const AUTH = basicAuth(TEST_USER, TEST_PASSWORD);
const REPO = 'hostile/app';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

before(async () => {
  registry = await startBerth();
  port = registry.running.address.port;
  // A real image, so manifests below can name blobs the repository does hold.
  const work = await scratchDir('hostile-');
  const layout = new LayoutWriter(path.join(work, 'layout'));
  base = await writeImage(layout, { seed: 'hostile-base', layers: 1 });
  layout.tag(base.manifest, 'v1');
  await layout.save();
  await skopeoCopy(`oci:${layout.dir}:v1`, `docker://${registry.host}/${REPO}:v1`, { dest: registry, extra: ['--preserve-digests'] });
});

after(async () => {
  await registry?.stop();
  await stopAll();
  await removeScratchDirs();
});

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  readonly raw: Buffer;
}

/**
 * One request with the path sent exactly as given (no normalisation). Resolves with the
 * response even when the server stops reading the request body early and the rest of
 * the upload fails (a 413 answered before the body arrived, say).
 */
function send(method: string, rawPath: string, options: { headers?: Record<string, string>; body?: Buffer | string; chunks?: Buffer[] } = {}): Promise<Answer> {
  // An empty header value means "leave this header out" (no credentials at all).
  const headers = Object.fromEntries(Object.entries({ authorization: AUTH, ...options.headers }).filter(([, value]) => value !== ''));
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request({ host: '127.0.0.1', port, method, path: rawPath, agent: false, headers }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: raw.toString('utf8'), raw });
      });
      res.on('error', reject);
    });
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    if (options.chunks) {
      for (const chunk of options.chunks) req.write(chunk);
      req.end();
    } else {
      req.end(options.body);
    }
  });
}

function errorCode(answer: Answer): string | undefined {
  try {
    return (JSON.parse(answer.body) as { errors?: Array<{ code?: string }> }).errors?.[0]?.code;
  } catch {
    return undefined;
  }
}

function assertError(answer: Answer, status: number, code: string, what: string): void {
  assert.equal(answer.status, status, `${what}: ${answer.status} ${answer.body}`);
  assert.equal(errorCode(answer), code, `${what}: ${answer.body}`);
  assert.match(String(answer.headers['content-type']), /^application\/json/, what);
}

/** Every file under docker/registry/v2, except upload scratch space under _uploads. */
async function visibleFiles(): Promise<string[]> {
  const root = path.join(registry.dataDir, 'docker', 'registry', 'v2');
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => !entry.isDirectory())
    .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)))
    .filter((file) => !file.split(path.sep).includes('_uploads'))
    .sort();
}

async function assertServing(): Promise<void> {
  const answer = await send('GET', '/v2/');
  assert.equal(answer.status, 200, `GET /v2/ after the hostile request: ${answer.status} ${answer.body}`);
}

/** Runs `attack`, then checks that nothing new is visible on disk and the server still answers. */
async function expectNothingStored(what: string, attack: () => Promise<void>): Promise<void> {
  const before = await visibleFiles();
  await attack();
  assert.deepEqual(await visibleFiles(), before, `${what} left files behind`);
  await assertServing();
}

function manifestNaming(config: { digest: string; size: number }, layers: Array<{ digest: string; size: number }>): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: layers.map((layer) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer })),
    }),
  );
}

/** A manifest over the base image's blobs that the registry does not hold yet. */
function freshManifest(label: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: base.config,
      layers: base.layers,
      annotations: { 'berth.test.label': label },
    }),
  );
}

async function startUpload(repository = REPO): Promise<string> {
  const answer = await send('POST', `/v2/${repository}/blobs/uploads/`);
  assert.equal(answer.status, 202, answer.body);
  const location = answer.headers['location'];
  assert.equal(typeof location, 'string');
  return location as string;
}

function withQuery(location: string, query: string): string {
  return `${location}${location.includes('?') ? '&' : '?'}${query}`;
}

test('malformed manifests: not JSON, and JSON of the wrong shape, are MANIFEST_INVALID', async () => {
  const bodies: Array<[string, string]> = [
    ['not JSON', 'this is {not json'],
    ['a JSON array', '[1, 2, 3]'],
    ['config is a string', JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: 'nope', layers: [] })],
    ['layers is not a list', JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: base.config, layers: { a: 1 } })],
    ['schemaVersion 3', JSON.stringify({ schemaVersion: 3, mediaType: OCI_MANIFEST, config: base.config, layers: base.layers })],
    ['negative size', JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { ...base.config, size: -1 }, layers: base.layers })],
    ['bad digest in a descriptor', JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { ...base.config, digest: 'sha256:xyz' }, layers: base.layers })],
  ];
  for (const [what, body] of bodies) {
    await expectNothingStored(what, async () => {
      assertError(await send('PUT', `/v2/${REPO}/manifests/malformed`, { headers: { 'content-type': OCI_MANIFEST }, body }), 400, 'MANIFEST_INVALID', what);
    });
  }
  assertError(await send('GET', `/v2/${REPO}/manifests/malformed`, { headers: { accept: OCI_MANIFEST } }), 404, 'MANIFEST_UNKNOWN', 'the malformed tag');
});

test('a manifest naming blobs the repository lacks is MANIFEST_BLOB_UNKNOWN (400, as distribution)', async () => {
  const missingLayer = seededBytes('hostile-missing-layer', 1024);
  const missingConfig = Buffer.from('{"architecture":"amd64","os":"linux"}');
  const cases: Array<[string, Buffer]> = [
    ['missing layer', manifestNaming(base.config, [{ digest: sha256(missingLayer), size: missingLayer.length }])],
    ['missing config', manifestNaming({ digest: sha256(missingConfig), size: missingConfig.length }, base.layers)],
  ];
  for (const [what, body] of cases) {
    await expectNothingStored(what, async () => {
      assertError(await send('PUT', `/v2/${REPO}/manifests/missing`, { headers: { 'content-type': OCI_MANIFEST }, body }), 400, 'MANIFEST_BLOB_UNKNOWN', what);
    });
  }
  // A blob that exists in another repository does not count for this one.
  await expectNothingStored('blob of another repository', async () => {
    const body = freshManifest('other-repository');
    assertError(await send('PUT', '/v2/hostile/other/manifests/v1', { headers: { 'content-type': OCI_MANIFEST }, body }), 400, 'MANIFEST_BLOB_UNKNOWN', 'cross-repository');
  });
});

test('a manifest PUT whose reference digest does not match the body is DIGEST_INVALID', async () => {
  const body = freshManifest('digest-mismatch');
  const wrong = sha256(Buffer.concat([body, Buffer.from(' ')]));
  await expectNothingStored('manifest digest mismatch', async () => {
    assertError(await send('PUT', `/v2/${REPO}/manifests/${wrong}`, { headers: { 'content-type': OCI_MANIFEST }, body }), 400, 'DIGEST_INVALID', 'manifest PUT');
  });
  assertError(await send('GET', `/v2/${REPO}/manifests/${sha256(body)}`, { headers: { accept: OCI_MANIFEST } }), 404, 'MANIFEST_UNKNOWN', 'the body digest');
  assertError(await send('GET', `/v2/${REPO}/manifests/${wrong}`, { headers: { accept: OCI_MANIFEST } }), 404, 'MANIFEST_UNKNOWN', 'the claimed digest');
});

test('a blob upload whose digest does not match the bytes is DIGEST_INVALID', async () => {
  const data = seededBytes('hostile-blob-digest', 8192);
  const wrong = sha256(seededBytes('hostile-something-else', 8192));
  await expectNothingStored('blob PUT with a wrong digest', async () => {
    const location = await startUpload();
    const answer = await send('PUT', withQuery(location, `digest=${wrong}`), { headers: { 'content-type': 'application/octet-stream' }, body: data });
    assertError(answer, 400, 'DIGEST_INVALID', 'upload PUT');
  });
  await expectNothingStored('single-POST upload with a wrong digest', async () => {
    const answer = await send('POST', `/v2/${REPO}/blobs/uploads/?digest=${wrong}`, { headers: { 'content-type': 'application/octet-stream' }, body: data });
    assertError(answer, 400, 'DIGEST_INVALID', 'single POST');
  });
  for (const digest of [wrong, sha256(data)]) {
    assertError(await send('GET', `/v2/${REPO}/blobs/${digest}`), 404, 'BLOB_UNKNOWN', digest);
  }
});

test('an out-of-order chunk gets 416 and leaves the upload where it was', async () => {
  const data = seededBytes('hostile-chunks', 30);
  const location = await startUpload();
  const first = await send('PATCH', location, { headers: { 'content-type': 'application/octet-stream', 'content-range': '0-9' }, body: data.subarray(0, 10) });
  assert.equal(first.status, 202, first.body);
  let next = String(first.headers['location']);

  await expectNothingStored('chunk past the offset', async () => {
    const skip = await send('PATCH', next, { headers: { 'content-type': 'application/octet-stream', 'content-range': '20-29' }, body: data.subarray(20) });
    assertError(skip, 416, 'BLOB_UPLOAD_INVALID', 'chunk at 20 when the offset is 10');
    assert.equal(skip.headers['range'], '0-9');
    const overlap = await send('PATCH', next, { headers: { 'content-type': 'application/octet-stream', 'content-range': '5-14' }, body: data.subarray(5, 15) });
    assertError(overlap, 416, 'BLOB_UPLOAD_INVALID', 'chunk at 5 when the offset is 10');
  });
  const status = await send('GET', next);
  assert.equal(status.status, 204);
  assert.equal(status.headers['range'], '0-9');

  // The session is intact: the right chunk and the right digest still finish it.
  const second = await send('PATCH', next, { headers: { 'content-type': 'application/octet-stream', 'content-range': '10-29' }, body: data.subarray(10) });
  assert.equal(second.status, 202, second.body);
  next = String(second.headers['location']);
  const done = await send('PUT', withQuery(next, `digest=${sha256(data)}`));
  assert.equal(done.status, 201, done.body);
  const blob = await send('GET', `/v2/${REPO}/blobs/${sha256(data)}`);
  assert.equal(blob.status, 200);
  assert.ok(blob.raw.equals(data));
});

test('repository names with .., uppercase, %2e or %2f are NAME_INVALID', async () => {
  const names = ['hostile/../app', '../app', 'hostile/..', 'Hostile/App', 'hostile/APP', 'hostile/%2e%2e/app', 'hostile/%2E%2E/app', '%2e%2e/app', 'hostile%2fapp', 'hostile/%2fapp', 'hostile/./app'];
  const digest = sha256('anything');
  for (const name of names) {
    await expectNothingStored(`name ${name}`, async () => {
      const body = freshManifest(`name-${name}`);
      assertError(await send('PUT', `/v2/${name}/manifests/v1`, { headers: { 'content-type': OCI_MANIFEST }, body }), 400, 'NAME_INVALID', `PUT manifest ${name}`);
      assertError(await send('GET', `/v2/${name}/manifests/v1`), 400, 'NAME_INVALID', `GET manifest ${name}`);
      assertError(await send('POST', `/v2/${name}/blobs/uploads/`), 400, 'NAME_INVALID', `POST upload ${name}`);
      assertError(await send('POST', `/v2/${name}/blobs/uploads/?digest=${sha256('x')}`, { body: 'x' }), 400, 'NAME_INVALID', `single POST ${name}`);
      assertError(await send('GET', `/v2/${name}/blobs/${digest}`), 400, 'NAME_INVALID', `GET blob ${name}`);
      assertError(await send('GET', `/v2/${name}/tags/list`), 400, 'NAME_INVALID', `tags ${name}`);
    });
  }
});

test('unknown upload ids, well-formed or not, are BLOB_UPLOAD_UNKNOWN', async () => {
  const data = Buffer.from('orphan chunk');
  for (const id of [randomUUID(), 'not-a-uuid', '..', '%2e%2e', '%2e%2e%2f%2e%2e%2fetc']) {
    await expectNothingStored(`upload id ${id}`, async () => {
      const at = `/v2/${REPO}/blobs/uploads/${id}`;
      assertError(await send('GET', at), 404, 'BLOB_UPLOAD_UNKNOWN', `GET ${id}`);
      assertError(await send('PATCH', at, { headers: { 'content-type': 'application/octet-stream' }, body: data }), 404, 'BLOB_UPLOAD_UNKNOWN', `PATCH ${id}`);
      assertError(await send('PUT', `${at}?digest=${sha256(data)}`, { headers: { 'content-type': 'application/octet-stream' }, body: data }), 404, 'BLOB_UPLOAD_UNKNOWN', `PUT ${id}`);
      assertError(await send('DELETE', at), 404, 'BLOB_UPLOAD_UNKNOWN', `DELETE ${id}`);
    });
  }
  assertError(await send('GET', `/v2/${REPO}/blobs/${sha256(data)}`), 404, 'BLOB_UNKNOWN', 'the orphan chunk');
});

test('a request refused midway through its body: the client sends it all and reads the error, no reset', async () => {
  // The manifest limit stops the server reading after 4 MiB. 16 MiB is far more than the
  // socket buffers hold: if the server closed after answering, the client's writes would
  // fail with EPIPE or ECONNRESET (what skopeo reported as "broken pipe" on a full disk).
  const size = 16 * 1024 * 1024;
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let received = '';
  let socketError: Error | undefined;
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  socket.on('error', (error) => (socketError = error));
  socket.write(`PUT /v2/${REPO}/manifests/endless HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${AUTH}\r\nContent-Type: ${OCI_MANIFEST}\r\nTransfer-Encoding: chunked\r\n\r\n`);
  const chunk = Buffer.alloc(256 * 1024, 0x20);
  for (let sent = 0; sent < size && !socketError; sent += chunk.length) {
    socket.write(`${chunk.length.toString(16)}\r\n`);
    socket.write(chunk);
    if (!socket.write('\r\n')) await new Promise<void>((resolve) => socket.once('drain', resolve).once('close', resolve));
  }
  socket.write('0\r\n\r\n');
  const deadline = Date.now() + 10_000;
  while (!received.includes('MANIFEST_INVALID') && !socketError && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  socket.destroy();
  assert.equal(socketError, undefined, `the whole body was accepted (got ${socketError?.message})`);
  assert.match(received, /^HTTP\/1\.1 413 /);
  assert.match(received, /MANIFEST_INVALID/);
});

test('a 5 MiB manifest is refused with 413 MANIFEST_INVALID, with or without Content-Length', async () => {
  // Valid JSON all the way, so only the size can be the reason.
  const padding = 'x'.repeat(5 * 1024 * 1024);
  const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: base.config, layers: base.layers, annotations: { padding } }));
  assert.ok(body.length > 5 * 1024 * 1024);
  await expectNothingStored('5 MiB manifest with Content-Length', async () => {
    assertError(await send('PUT', `/v2/${REPO}/manifests/huge`, { headers: { 'content-type': OCI_MANIFEST }, body }), 413, 'MANIFEST_INVALID', 'Content-Length');
  });
  await expectNothingStored('5 MiB manifest, chunked', async () => {
    const chunks: Buffer[] = [];
    for (let offset = 0; offset < body.length; offset += 256 * 1024) chunks.push(body.subarray(offset, offset + 256 * 1024));
    assertError(await send('PUT', `/v2/${REPO}/manifests/huge`, { headers: { 'content-type': OCI_MANIFEST }, chunks }), 413, 'MANIFEST_INVALID', 'chunked');
  });
  assertError(await send('GET', `/v2/${REPO}/manifests/huge`, { headers: { accept: OCI_MANIFEST } }), 404, 'MANIFEST_UNKNOWN', 'the huge tag');
});

function openConnections(): Promise<number> {
  const server = registry.running.server.server;
  return new Promise((resolve, reject) => server.getConnections((error, count) => (error ? reject(error) : resolve(count))));
}

/**
 * Sends the request head and `sent`, declaring `declaredLength` bytes, waits until the
 * server has had time to read what was sent, then drops the connection. Returns how
 * many connections the server had open before (idle keep-alives of other clients).
 */
async function cutOff(head: string, declaredLength: number, sent: Buffer): Promise<number> {
  assert.ok(sent.length < declaredLength);
  const baseline = await openConnections();
  const socket = connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => undefined);
  socket.write(`${head}\r\nHost: ${registry.host}\r\nAuthorization: ${AUTH}\r\nContent-Length: ${declaredLength}\r\n\r\n`);
  socket.write(sent);
  await new Promise((resolve) => setTimeout(resolve, 300));
  socket.destroy();
  return baseline;
}

/**
 * Waits (at most 5 s) until the server has let go of the cut connection, then checks
 * `absent` several times over a second: a late commit must not slip through.
 */
async function assertStaysAbsent(what: string, baseline: number, absent: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 50 && (await openConnections()) > baseline; i++) await new Promise((resolve) => setTimeout(resolve, 100));
  for (let i = 0; i < 5; i++) {
    assert.ok(await absent(), `${what} was committed`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A client that hangs up is the client's problem: no error-level line (storage failure). */
function assertNoErrorLogged(log: string): void {
  const errors = log.split('\n').filter((line) => line.includes('"level":"error"'));
  assert.deepEqual(errors, [], 'the registry logged errors');
}

test('a monolithic blob upload cut off mid-body commits nothing', async () => {
  const data = seededBytes('hostile-cut-blob', 64 * 1024);
  const half = data.subarray(0, data.length / 2);
  // Digest of the whole blob, and digest of exactly the bytes that did arrive: a server
  // that checked the digest of a short body would commit the second one.
  for (const digest of [sha256(data), sha256(half)]) {
    await expectNothingStored(`cut-off upload claiming ${digest}`, async () => {
      const baseline = await cutOff(`POST /v2/${REPO}/blobs/uploads/?digest=${digest} HTTP/1.1\r\nContent-Type: application/octet-stream`, data.length, half);
      await assertStaysAbsent(digest, baseline, async () => {
        const head = await send('HEAD', `/v2/${REPO}/blobs/${digest}`);
        const files = await visibleFiles();
        return head.status === 404 && !files.some((file) => file.includes(digest.slice(7)));
      });
    });
  }
  // The same kind of cut inside an upload session's final PUT.
  await expectNothingStored('cut-off upload PUT', async () => {
    const location = await startUpload();
    const baseline = await cutOff(`PUT ${withQuery(location, `digest=${sha256(half)}`)} HTTP/1.1\r\nContent-Type: application/octet-stream`, data.length, half);
    await assertStaysAbsent('cut-off session PUT', baseline, async () => (await send('HEAD', `/v2/${REPO}/blobs/${sha256(half)}`)).status === 404);
  });
  assertNoErrorLogged(await registry.logs());
});

test('a manifest PUT cut off mid-body commits nothing', async () => {
  // What arrives is a complete, valid manifest over blobs the repository holds: only the
  // declared length says the body was longer.
  const body = freshManifest('cut-off');
  for (const [tag, declared] of [
    ['cut', body.length * 2],
    ['cut-by-one', body.length + 1],
  ] as const) {
    await expectNothingStored(`cut-off manifest ${tag}`, async () => {
      const baseline = await cutOff(`PUT /v2/${REPO}/manifests/${tag} HTTP/1.1\r\nContent-Type: ${OCI_MANIFEST}`, declared, body);
      await assertStaysAbsent(`tag ${tag}`, baseline, async () => {
        const got = await send('GET', `/v2/${REPO}/manifests/${tag}`, { headers: { accept: OCI_MANIFEST } });
        const byDigest = await send('GET', `/v2/${REPO}/manifests/${sha256(body)}`, { headers: { accept: OCI_MANIFEST } });
        return got.status === 404 && byDigest.status === 404;
      });
    });
  }
  const tags = JSON.parse((await send('GET', `/v2/${REPO}/tags/list`)).body) as { tags: string[] };
  assert.deepEqual(tags.tags, ['v1']);
  assertNoErrorLogged(await registry.logs());
});

test('wrong or missing credentials get 401 UNAUTHORIZED with a Basic challenge, and nothing is written', async () => {
  const data = seededBytes('hostile-unauthorized', 2048);
  const body = freshManifest('unauthorized');
  // Rejected passwords count towards the per-address block (429 after maxAuthFailures,
  // 10 by default), so they are kept below it: 6 wrong passwords and 1 unknown user.
  // Malformed or missing credentials are not counted.
  const credentials: Array<[string, Record<string, string>, number]> = [
    ['wrong password', { authorization: basicAuth(TEST_USER, 'wrong-password') }, 6],
    ['unknown user', { authorization: basicAuth('mallory', TEST_PASSWORD) }, 1],
    ['garbage header', { authorization: 'Basic !!!not-base64!!!' }, 6],
    ['bearer token', { authorization: 'Bearer abc.def.ghi' }, 6],
    ['no header', { authorization: '' }, 6],
  ];
  const requests: Array<[string, string, Buffer | undefined, Record<string, string>]> = [
    ['PUT', `/v2/${REPO}/manifests/denied`, body, { 'content-type': OCI_MANIFEST }],
    ['POST', `/v2/${REPO}/blobs/uploads/?digest=${sha256(data)}`, data, { 'content-type': 'application/octet-stream' }],
    ['POST', '/v2/hostile/denied/blobs/uploads/', undefined, {}],
    ['DELETE', `/v2/${REPO}/manifests/${base.manifest.digest}`, undefined, {}],
    ['GET', `/v2/${REPO}/blobs/${base.layers[0]!.digest}`, undefined, {}],
    ['GET', '/v2/', undefined, {}],
  ];
  for (const [what, headers, count] of credentials) {
    await expectNothingStored(what, async () => {
      for (const [method, at, payload, extra] of requests.slice(0, count)) {
        const answer = await send(method, at, { headers: { ...extra, ...headers }, ...(payload ? { body: payload } : {}) });
        assertError(answer, 401, 'UNAUTHORIZED', `${what}: ${method} ${at}`);
        assert.match(String(answer.headers['www-authenticate']), /^Basic realm="[^"]+"$/, `${what}: ${method} ${at}`);
      }
    });
  }
  // The image the DELETE aimed at is still whole.
  const still = await send('GET', `/v2/${REPO}/manifests/v1`, { headers: { accept: OCI_MANIFEST } });
  assert.equal(still.status, 200);
  assert.equal(sha256(still.raw), base.manifest.digest);
});
