// A driver's ContentSource as a plain byte stream, for readers that do not care where
// the bytes come from (fsck, verification, `registry save`). The HTTP layer sends files
// its own way (registry/send-file.ts).
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { ContentSource } from './driver/driver.js';

export function contentStream(source: ContentSource): Readable {
  if (source.kind === 'stream') return source.stream;
  if (source.size === 0) {
    void source.handle.close();
    return Readable.from([]);
  }
  // 1 MiB reads: fewer syscalls and event-loop turns per byte. The stream closes the handle.
  return createReadStream('', { fd: source.handle, highWaterMark: 1024 * 1024, start: source.start, end: source.start + source.size - 1 });
}
