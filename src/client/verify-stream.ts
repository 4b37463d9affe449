// Wraps a download so it errors at the end when the bytes do not hash to the digest:
// nothing written from a blob stream is trusted until the stream ended cleanly.
import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import type { Digest } from '../oci/digest.js';

export class DigestMismatchError extends Error {
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`content digest mismatch: expected ${expected}, got ${actual}`);
  }
}

export function verifyDigestStream(source: Readable, digest: Digest): Readable {
  const hash = createHash(digest.algorithm);
  const verifier = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
    flush(callback) {
      const actual = `${digest.algorithm}:${hash.digest('hex')}`;
      callback(actual === digest.value ? null : new DigestMismatchError(digest.value, actual));
    },
  });
  source.on('error', (error) => verifier.destroy(error));
  // A download nobody reads any more (the pull failed on another blob, and the connection
  // is then closed) must not take the process down with an unhandled 'error': readers
  // (pipeline, for await) still see the error through their own listeners.
  verifier.on('error', () => undefined);
  return source.pipe(verifier);
}
