// The UI bundle as `npm run build` leaves it in dist/ui: small (the limit is
// 150 KiB gzipped, everything the browser downloads), and with nothing inline that the
// Content-Security-Policy would have to allow.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { PROJECT_ROOT } from '../support/tools.js';

const BUNDLE = path.join(PROJECT_ROOT, 'dist', 'ui');
const LIMIT = 150 * 1024;

test('the UI bundle is at most 150 KiB gzipped', async () => {
  const files = ['index.html', ...(await readdir(path.join(BUNDLE, 'assets'))).map((name) => path.join('assets', name))];
  assert.ok(files.some((file) => file.endsWith('.js')), `no script in ${BUNDLE}: did npm run build run?`);
  let total = 0;
  const sizes: string[] = [];
  for (const file of files) {
    const gzipped = gzipSync(await readFile(path.join(BUNDLE, file)), { level: 9 }).length;
    total += gzipped;
    sizes.push(`${file} ${gzipped} B`);
  }
  console.log(`UI bundle, gzipped: ${total} B in all (${sizes.join(', ')})`);
  assert.ok(total <= LIMIT, `${total} bytes gzipped, over the ${LIMIT} limit`);
});

test('index.html has no inline script or style (the CSP allows neither)', async () => {
  const html = await readFile(path.join(BUNDLE, 'index.html'), 'utf8');
  const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
  assert.ok(scripts.length > 0);
  for (const [, attributes, body] of scripts) {
    assert.match(attributes ?? '', /\bsrc="\/ui\/assets\/[^"]+\.js"/);
    assert.equal(body?.trim(), '');
  }
  assert.doesNotMatch(html, /<style\b|\sstyle=|\son[a-z]+=/i);
});
