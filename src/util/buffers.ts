// Byte-buffer helpers for batched positional writes (writev may write fewer bytes).

/** The buffers without their first `skip` bytes (what a partial writev left to write). */
export function skipBytes<T extends Uint8Array>(buffers: readonly T[], skip: number): Uint8Array[] {
  if (skip === 0) return [...buffers];
  const out: Uint8Array[] = [];
  let remaining = skip;
  for (const buffer of buffers) {
    if (remaining >= buffer.length) {
      remaining -= buffer.length;
      continue;
    }
    out.push(remaining > 0 ? buffer.subarray(remaining) : buffer);
    remaining = 0;
  }
  return out;
}
