// An HTTP fuzz run against the live server: random paths, methods, headers and bodies,
// bounded in count. Every answer must be a 4xx (or a success), never a 5xx, a crash or
// a hang, and nothing outside the data directory may be read or written, even with a
// symlink planted inside it that points outside.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { digestOf } from '../../src/oci/digest.js';
import { startBerth, TEST_PASSWORD, TEST_USER } from '../support/berth.js';
import { basicAuth } from '../support/net.js';
import { stopAll } from '../support/process.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';

after(async () => {
  await stopAll();
  await removeScratchDirs();
});

const RUNS = Number(process.env['BERTH_FUZZ_RUNS'] ?? 3000);
const DIGEST = digestOf('fuzz').value;

interface Sent {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

function send(host: string, port: number, req: Sent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within 10 s: ${req.method} ${req.path}`)), 10_000);
    const outgoing = request({ host, port, method: req.method, path: req.path, headers: req.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8').slice(0, 300) });
      });
      res.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    outgoing.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    outgoing.end(req.body);
  });
}

const segment = fc.oneof(
  fc.constantFrom('library', 'nginx', 'a', 'evil', '..', '.', '%2e%2e', '%2F', '_catalog', 'manifests', 'blobs', 'uploads', 'tags', 'list', 'referrers', 'latest', DIGEST, 'sha256:xyz', 'sha512:' + 'a'.repeat(128), '00000000-0000-4000-8000-000000000000'),
  fc.string({ unit: fc.constantFrom('a', 'Z', '.', '-', '_', '%', '0', ':', '@', '~', ' ', '\u00e9'), minLength: 1, maxLength: 12 }).map(encodeURI),
);

const requestArbitrary = fc.record({
  method: fc.constantFrom('GET', 'HEAD', 'PUT', 'POST', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'PROPFIND'),
  segments: fc.array(segment, { minLength: 0, maxLength: 7 }),
  trailingSlash: fc.boolean(),
  query: fc.option(fc.constantFrom('?n=2', '?n=-1', '?n=abc&last=z', `?digest=${DIGEST}`, '?digest=sha256:bad', `?mount=${DIGEST}&from=evil`, '?mount=x&from=../a', '?tag=a&tag=..', '?artifactType=x', '?%zz=1')),
  auth: fc.constantFrom('good', 'good', 'good', 'bad', 'none', 'garbage'),
  contentType: fc.option(fc.constantFrom('application/vnd.oci.image.manifest.v1+json', 'application/vnd.oci.image.index.v1+json', 'application/json', 'text/plain', '')),
  range: fc.option(fc.oneof(fc.constantFrom('bytes=0-0', 'bytes=-1', 'bytes=5-2', 'bytes=0-'), fc.string({ maxLength: 20 }))),
  contentRange: fc.option(fc.oneof(fc.constantFrom('0-0', '0-99', '5-1', 'bytes 0-3/*'), fc.string({ maxLength: 20 }))),
  accept: fc.option(fc.constantFrom('*/*', 'application/vnd.docker.distribution.manifest.v2+json', 'text/html')),
  body: fc.oneof(
    fc.constant(Buffer.alloc(0)),
    fc.uint8Array({ maxLength: 2048 }).map((a) => Buffer.from(a)),
    fc.json({ maxDepth: 3 }).map((j) => Buffer.from(j)),
    fc.constant(Buffer.from(JSON.stringify({ schemaVersion: 2, config: { mediaType: 'x', digest: DIGEST, size: 4 }, layers: [] }))),
  ),
});

async function snapshot(dir: string): Promise<string> {
  const lines: string[] = [];
  const walk = async (current: string): Promise<void> => {
    for (const entry of (await readdir(current, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(current, entry.name);
      const info = await stat(full);
      lines.push(`${path.relative(dir, full)} ${info.size} ${info.mtimeMs}`);
      if (entry.isDirectory()) await walk(full);
    }
  };
  await walk(dir);
  return lines.join('\n');
}

test(`HTTP fuzz: ${RUNS} random requests get no 5xx, no hang, and touch nothing outside the data dir`, { timeout: 600_000 }, async (t) => {
  const work = await scratchDir('fuzz-');
  const outside = path.join(work, 'outside');
  await mkdir(outside);
  await writeFile(path.join(outside, 'secret.txt'), 'do not read or change me');
  const dataDir = path.join(work, 'data');
  // A symlink inside the data dir that leads out of it.
  await mkdir(path.join(dataDir, 'docker/registry/v2/repositories'), { recursive: true });
  await symlink(outside, path.join(dataDir, 'docker/registry/v2/repositories/evil'));
  const registry = await startBerth({ dataDir });
  const [host, portText] = registry.host.split(':') as [string, string];
  const port = Number(portText);
  const before = { outside: await snapshot(outside), work: (await readdir(work)).sort().join(',') };
  const statuses = new Map<number, number>();
  try {
    await fc.assert(
      fc.asyncProperty(requestArbitrary, async (r) => {
        const headers: Record<string, string> = {};
        if (r.auth === 'good') headers['authorization'] = basicAuth(TEST_USER, TEST_PASSWORD);
        if (r.auth === 'bad') headers['authorization'] = basicAuth(TEST_USER, 'wrong-password');
        if (r.auth === 'garbage') headers['authorization'] = 'Basic !!!';
        if (r.contentType !== null) headers['content-type'] = r.contentType;
        if (r.range !== null && /^[\x20-\x7e]*$/.test(r.range)) headers['range'] = r.range;
        if (r.contentRange !== null && /^[\x20-\x7e]*$/.test(r.contentRange)) headers['content-range'] = r.contentRange;
        if (r.accept !== null) headers['accept'] = r.accept;
        const requestPath = `/v2/${r.segments.join('/')}${r.trailingSlash ? '/' : ''}${r.query ?? ''}`;
        const response = await send(host, port, { method: r.method, path: requestPath, headers, body: r.body });
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        assert.ok(response.status < 500, `${r.method} ${requestPath} -> ${response.status} ${response.body}`);
      }),
      { numRuns: RUNS },
    );
    // Still serving after the run.
    const health = await send(host, port, { method: 'GET', path: '/v2/', headers: { authorization: basicAuth(TEST_USER, TEST_PASSWORD) }, body: Buffer.alloc(0) });
    assert.equal(health.status, 200);
  } finally {
    await registry.stop();
  }
  assert.equal(await snapshot(outside), before.outside, 'the directory behind the planted symlink is untouched');
  assert.equal(await readFile(path.join(outside, 'secret.txt'), 'utf8'), 'do not read or change me');
  assert.equal((await readdir(work)).sort().join(','), before.work, 'nothing new beside the data dir');
  t.diagnostic(`fuzz figures: requests=${RUNS} statuses=${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`);
});
