// htpasswd parsing and Basic authentication: bcrypt lines from the real `htpasswd -B`,
// the credential cache, reloads, and total behaviour on hostile files and headers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { BasicAuthenticator, decodeBasicHeader } from '../../src/registry/auth/basic-auth.js';
import { HtpasswdFile, parseHtpasswd } from '../../src/registry/auth/htpasswd.js';
import { tool } from '../support/tools.js';

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

test('parses bcrypt lines and reports the rest', () => {
  const hash = `$2y$05$${'a'.repeat(53)}`;
  const result = parseHtpasswd(`# comment\nadmin:${hash}\nbad line\nplain:{SHA}abc\n\n`);
  assert.deepEqual([...result.users.keys()], ['admin']);
  assert.deepEqual(result.skipped.map((s) => s.line), [3, 4]);
});

test('property: parsing any text never throws', () => {
  fc.assert(fc.property(fc.string({ maxLength: 500 }), (text) => void parseHtpasswd(text)), { numRuns: 3000 });
  fc.assert(fc.property(fc.string({ maxLength: 200 }), (header) => void decodeBasicHeader(header)), { numRuns: 3000 });
});

test('decodes Basic headers; passwords may contain colons', () => {
  assert.deepEqual(decodeBasicHeader(basic('admin', 'pa:ss:word')), { user: 'admin', password: 'pa:ss:word' });
  assert.equal(decodeBasicHeader(undefined), 'missing');
  assert.equal(decodeBasicHeader('Bearer abc'), 'malformed');
  assert.equal(decodeBasicHeader(`Basic ${Buffer.from('nocolon').toString('base64')}`), 'malformed');
});

test('authenticates against a file made by htpasswd -B, caches, and follows file changes', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'berth-htpasswd-'));
  try {
    const file = path.join(dir, 'htpasswd');
    execFileSync(tool('htpasswd'), ['-Bbc', '-C', '5', file, 'admin', 'passw0rd']);
    const htpasswd = new HtpasswdFile(file, () => undefined, 0);
    await htpasswd.load();
    const auth = new BasicAuthenticator(htpasswd, { cacheTtlMs: 60_000 });
    assert.deepEqual(await auth.authenticate(basic('admin', 'passw0rd')), { ok: true, user: 'admin', cached: false });
    assert.deepEqual(await auth.authenticate(basic('admin', 'passw0rd')), { ok: true, user: 'admin', cached: true });
    assert.deepEqual(await auth.authenticate(basic('admin', 'wrong')), { ok: false, reason: 'rejected' });
    assert.deepEqual(await auth.authenticate(basic('nobody', 'passw0rd')), { ok: false, reason: 'rejected' });
    assert.deepEqual(await auth.authenticate(undefined), { ok: false, reason: 'missing' });

    // A new password on disk: the old credential stops working at once, cache or not.
    await new Promise((resolve) => setTimeout(resolve, 20));
    execFileSync(tool('htpasswd'), ['-Bb', '-C', '5', file, 'admin', 'n3w-secret']);
    assert.deepEqual(await auth.authenticate(basic('admin', 'passw0rd')), { ok: false, reason: 'rejected' });
    assert.equal((await auth.authenticate(basic('admin', 'n3w-secret'))).ok, true);

    // A broken rewrite keeps the users that worked: nobody is locked out.
    await writeFile(file, '');
    await rm(file);
    assert.equal((await auth.authenticate(basic('admin', 'n3w-secret'))).ok, true);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
