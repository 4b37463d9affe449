// Pure parts of the registry administration commands: filter patterns, image and
// registry arguments, the htpasswd line update, image lists and the settled pool.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import bcrypt from 'bcryptjs';
import { CliError } from '../../src/cli/cli-error.js';
import { matches, parseFilters, parsePattern } from '../../src/cli/registry/filter.js';
import { hashPassword, setHtpasswdEntry } from '../../src/cli/registry/passwd.js';
import { formatBytes } from '../../src/cli/registry/remote.js';
import { parseImageList } from '../../src/cli/registry/save.js';
import { parseRegistryImage, registryWithDefaultPort } from '../../src/cli/registry/targets.js';
import { mapSettled } from '../../src/util/pool.js';

test('filter patterns: *, x*, *x, *x*, exact, <none> for tags; anything else is refused', () => {
  const cases: Array<[string, string, boolean]> = [
    ['*', 'anything', true],
    ['lib*', 'library/nginx', true],
    ['lib*', 'x/lib', false],
    ['*nginx', 'library/nginx', true],
    ['*nginx', 'nginx/x', false],
    ['*brar*', 'library/nginx', true],
    ['library/nginx', 'library/nginx', true],
    ['library/nginx', 'library/nginx2', false],
  ];
  for (const [pattern, value, expected] of cases) assert.equal(matches(parsePattern(pattern, 'name'), value), expected, `${pattern} ~ ${value}`);
  assert.deepEqual(parsePattern('<none>', 'tag'), { kind: 'none' });
  for (const bad of ['a*b', '**', '***x', 'x**', 'Upper*', '*a b*']) assert.throws(() => parsePattern(bad, 'name'), CliError, bad);
  assert.throws(() => parsePattern('<none>', 'name'), /name=<none> is not a valid filter/);
  assert.deepEqual(parseFilters(['name=lib*,tag=1.*']), { name: { kind: 'prefix', text: 'lib' }, tag: { kind: 'prefix', text: '1.' } });
  assert.deepEqual(parseFilters(['name=a', 'tag=*b']), { name: { kind: 'equals', text: 'a' }, tag: { kind: 'suffix', text: 'b' } });
  assert.throws(() => parseFilters(['colour=red']), /invalid filter "colour=red"/);
  assert.throws(() => parseFilters(['nameonly']), /invalid filter/);
});

test('image arguments: a registry prefix when the first part looks like a host, else the default', async () => {
  const fallback = (): Promise<string> => Promise.resolve('sealos.hub:5000');
  assert.deepEqual(await parseRegistryImage('library/nginx:1.25', fallback), { registry: 'sealos.hub:5000', repository: 'library/nginx', tag: '1.25' });
  assert.deepEqual(await parseRegistryImage('127.0.0.1:5000/app', fallback), { registry: '127.0.0.1:5000', repository: 'app' });
  assert.deepEqual(await parseRegistryImage('localhost/a/b@sha256:' + 'a'.repeat(64), fallback), { registry: 'localhost', repository: 'a/b', digest: `sha256:${'a'.repeat(64)}` });
  assert.deepEqual(await parseRegistryImage('docker.io/library/nginx:1', fallback), { registry: 'docker.io', repository: 'library/nginx', tag: '1' });
  await assert.rejects(parseRegistryImage('Library/Nginx', fallback), /invalid repository name/);
  await assert.rejects(parseRegistryImage('app@sha256:short', fallback), /invalid digest/);
  await assert.rejects(parseRegistryImage('app:bad tag', fallback), /invalid tag/);
});

test('sync/copy endpoints: a bare host gets :5000 like sealos; URLs and Docker Hub are kept', () => {
  assert.equal(registryWithDefaultPort('sealos.hub'), 'sealos.hub:5000');
  assert.equal(registryWithDefaultPort('10.0.0.5'), '10.0.0.5:5000');
  assert.equal(registryWithDefaultPort('10.0.0.5:5050'), '10.0.0.5:5050');
  assert.equal(registryWithDefaultPort('[::1]'), '[::1]:5000');
  assert.equal(registryWithDefaultPort('[::1]:6000'), '[::1]:6000');
  assert.equal(registryWithDefaultPort('https://registry.example.com/'), 'https://registry.example.com');
  assert.equal(registryWithDefaultPort('docker.io'), 'docker.io');
  assert.throws(() => registryWithDefaultPort('host/repo'), /not a registry address/);
});

test('htpasswd update: the user line is replaced or appended, every other line kept; $2y$ cost 10', async () => {
  const before = '# users\nadmin:$2y$05$old\nops:$2y$10$keep\n';
  assert.deepEqual(setHtpasswdEntry(before, 'admin', 'NEW'), { text: '# users\nadmin:NEW\nops:$2y$10$keep\n', added: false });
  assert.deepEqual(setHtpasswdEntry(before, 'bob', 'B'), { text: `${before}bob:B\n`, added: true });
  assert.deepEqual(setHtpasswdEntry('', 'admin', 'A'), { text: 'admin:A\n', added: true });
  assert.equal(setHtpasswdEntry('administrator:x\n', 'admin', 'A').text, 'administrator:x\nadmin:A\n', 'a longer name is another user');
  const hash = await hashPassword('s3cret');
  assert.match(hash, /^\$2y\$10\$[./A-Za-z0-9]{53}$/);
  assert.ok(await bcrypt.compare('s3cret', hash.replace(/^\$2y\$/, '$2b$')));
});

test('image list files: comments, blank lines and quotes', () => {
  assert.deepEqual(parseImageList('# base\nnginx:1.25\n\n  "registry.k8s.io/pause:3.9"  \n\'quay.io/a/b:1\'\r\n#x\n'), ['nginx:1.25', 'registry.k8s.io/pause:3.9', 'quay.io/a/b:1']);
});

test('mapSettled keeps every outcome and never exceeds its limit', async () => {
  let inFlight = 0;
  let most = 0;
  const results = await mapSettled([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
    inFlight += 1;
    most = Math.max(most, inFlight);
    await new Promise((resolve) => setTimeout(resolve, 10));
    inFlight -= 1;
    if (n === 4) throw new Error('four');
    return n * 2;
  });
  assert.equal(most, 3);
  assert.deepEqual(results.map((r) => (r.ok ? r.value : (r.error as Error).message)), [2, 4, 6, 'four', 10, 12, 14]);
  assert.equal(formatBytes(999), '999 B');
  assert.equal(formatBytes(201_566), '202 kB');
  assert.equal(formatBytes(5_300_000), '5.3 MB');
});
