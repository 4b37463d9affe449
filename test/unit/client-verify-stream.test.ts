// The digest-verifying download stream: bytes that hash to the digest pass, others end in
// DigestMismatchError, and a download abandoned by its reader (a pull that failed on another
// blob) that errors later does not crash the process with an unhandled 'error'.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { DigestMismatchError, verifyDigestStream } from '../../src/client/verify-stream.js';
import { parseDigest } from '../../src/oci/digest.js';

function digestOf(bytes: Buffer): NonNullable<ReturnType<typeof parseDigest>> {
  return parseDigest(`sha256:${createHash('sha256').update(bytes).digest('hex')}`)!;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

test('matching bytes pass through; other bytes end in DigestMismatchError', async () => {
  const bytes = Buffer.from('layer bytes');
  assert.deepEqual(await readAll(verifyDigestStream(Readable.from([bytes]), digestOf(bytes))), bytes);
  await assert.rejects(readAll(verifyDigestStream(Readable.from([Buffer.from('other')]), digestOf(bytes))), DigestMismatchError);
});

test('a source error reaches the reader', async () => {
  const source = new PassThrough();
  const verified = verifyDigestStream(source, digestOf(Buffer.from('x')));
  setImmediate(() => source.destroy(new Error('aborted')));
  await assert.rejects(readAll(verified), /aborted/);
});

test('an abandoned download that fails later does not crash the process', async () => {
  const source = new PassThrough();
  const verified = verifyDigestStream(source, digestOf(Buffer.from('x')));
  source.write(Buffer.from('partial'));
  source.destroy(new Error('aborted'));
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.ok(verified.destroyed, 'the verifier is destroyed with its source');
});
