// Sends a byte range of an open file as a response body through a small pool of reused
// buffers. A read stream allocates a fresh buffer per chunk: at blob-GET rates that is
// hundreds of megabytes a second of short-lived off-heap memory, which costs page
// faults and kernel page zeroing on every allocation and keeps RSS high until a GC
// frees it. Here each response owns two buffers: the next chunk is read (in the thread
// pool, on the other core) while the previous one is written to the socket, and a
// buffer is reused only once the socket has taken all of its bytes.
import type { FileHandle } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';

export const SEND_CHUNK_BYTES = 512 * 1024;
/** Buffers kept for reuse between responses (4 MiB); beyond that they are left to the GC. */
const MAX_POOLED_BUFFERS = 8;
const pool: Buffer[] = [];

function takeBuffer(): Buffer {
  return pool.pop() ?? Buffer.allocUnsafeSlow(SEND_CHUNK_BYTES);
}

function returnBuffer(buffer: Buffer): void {
  if (pool.length < MAX_POOLED_BUFFERS) pool.push(buffer);
}

export class ClientGoneError extends Error {
  constructor() {
    super('the client closed the connection during the transfer');
  }
}

/** Writes `chunk`; resolves once the socket has taken it (the buffer may be reused then). */
function write(res: ServerResponse, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (res.destroyed) {
      reject(new ClientGoneError());
      return;
    }
    const onClose = (): void => reject(new ClientGoneError());
    res.once('close', onClose);
    res.write(chunk, (error) => {
      res.off('close', onClose);
      if (error) reject(error);
      else resolve();
    });
  });
}

/**
 * Writes bytes [start, end] (inclusive; end < start for an empty body) of `handle` to
 * `res` and ends it. The caller has sent the headers, with a Content-Length that
 * matches. Rejects when the client goes away or the file is shorter than promised.
 */
export async function sendFileRange(handle: FileHandle, res: ServerResponse, start: number, end: number): Promise<void> {
  const buffers = [takeBuffer(), takeBuffer()] as const;
  let pending: Promise<void> | undefined;
  try {
    let position = start;
    for (let turn = 0; position <= end; turn ^= 1) {
      const buffer = buffers[turn]!;
      const length = Math.min(buffer.length, end - position + 1);
      const { bytesRead } = await handle.read(buffer, 0, length, position);
      if (bytesRead === 0) throw new Error(`file ended at byte ${position}, before ${end + 1}`);
      position += bytesRead;
      // The other buffer's write must finish before this one's starts: it is the next to be read into.
      if (pending) await pending;
      pending = write(res, buffer.subarray(0, bytesRead));
      // A rejection is seen at the next await; keep it from being reported as unhandled meanwhile.
      pending.catch(() => undefined);
    }
    if (pending) await pending;
    pending = undefined;
    await new Promise<void>((resolve) => res.end(resolve));
  } finally {
    // Buffers still owned by an unfinished write are dropped, not reused.
    if (pending === undefined) {
      returnBuffer(buffers[0]);
      returnBuffer(buffers[1]);
    }
  }
}
