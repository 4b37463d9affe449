// A Writable over an open FileHandle that leaves the handle open, so the caller can
// fsync and close it. (`handle.createWriteStream({ autoClose: false })` keeps the
// handle referenced, and a later `handle.close()` then never settles on Node 20.)
import type { FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';

async function writeAll(handle: FileHandle, chunk: Buffer): Promise<void> {
  let offset = 0;
  // Bounded: every pass writes at least one byte or throws.
  while (offset < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
    if (bytesWritten <= 0) throw new Error('write made no progress');
    offset += bytesWritten;
  }
}

export function handleSink(handle: FileHandle): Writable {
  return new Writable({
    highWaterMark: 1024 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      writeAll(handle, chunk).then(() => callback(), callback);
    },
  });
}
