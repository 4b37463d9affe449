// Protocol Buffers wire format, just enough to edit a message without decoding it.
//
// Why: protobufjs drops fields it does not know when it re-encodes a message, and a
// CRI request from a newer kubelet carries fields this shim has never heard of. So
// requests are edited as bytes: the fields the shim changes are cut out and a new
// encoding is put in the place of the first one; every other byte stays as it was,
// in the same order.
//
// Semantics kept from the protobuf spec: a repeated occurrence of a non-repeated
// scalar field means "last one wins"; occurrences of an embedded message field are
// merged, which for the wire bytes is the same as concatenating their payloads.

export const WIRE_TYPE = { varint: 0, fixed64: 1, len: 2, startGroup: 3, endGroup: 4, fixed32: 5 } as const;
export type WireType = (typeof WIRE_TYPE)[keyof typeof WIRE_TYPE];

export const MAX_FIELD_NUMBER = 2 ** 29 - 1;

export interface WireField {
  readonly number: number;
  readonly wireType: WireType;
  /** Offset of the tag: the field's encoding is bytes [start, end). */
  readonly start: number;
  readonly end: number;
  /** The payload: the value bytes after the tag (and after the length, for len). */
  readonly valueStart: number;
  readonly valueEnd: number;
}

export class WireFormatError extends Error {}

/** Reads a varint at `offset`; returns the value (as a number, exact up to 2^53) and the next offset. */
export function readVarint(buffer: Uint8Array, offset: number): { value: number; next: number } {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    const position = offset + i;
    if (position >= buffer.length) throw new WireFormatError(`truncated varint at offset ${offset}`);
    const byte = buffer[position]!;
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if ((byte & 0x80) === 0) return { value, next: position + 1 };
  }
  throw new WireFormatError(`varint longer than 10 bytes at offset ${offset}`);
}

export function encodeVarint(value: number | bigint): Buffer {
  let rest = BigInt(value);
  if (rest < 0n) rest = BigInt.asUintN(64, rest);
  const bytes: number[] = [];
  do {
    let byte = Number(rest & 0x7fn);
    rest >>= 7n;
    if (rest > 0n) byte |= 0x80;
    bytes.push(byte);
  } while (rest > 0n);
  return Buffer.from(bytes);
}

export function encodeTag(number: number, wireType: WireType): Buffer {
  if (!Number.isInteger(number) || number < 1 || number > MAX_FIELD_NUMBER) throw new WireFormatError(`invalid field number ${number}`);
  return encodeVarint(number * 8 + wireType);
}

/** A length-delimited field (string, bytes, embedded message). */
export function encodeLenField(number: number, payload: Uint8Array): Buffer {
  return Buffer.concat([encodeTag(number, WIRE_TYPE.len), encodeVarint(payload.length), payload]);
}

export function encodeStringField(number: number, value: string): Buffer {
  return encodeLenField(number, Buffer.from(value, 'utf8'));
}

/** Reads one field starting at `offset` (a tag). Groups are skipped as a whole. */
function readField(buffer: Uint8Array, offset: number): WireField {
  const tag = readVarint(buffer, offset);
  const number = Math.floor(tag.value / 8);
  const wireType = tag.value % 8;
  if (number < 1 || number > MAX_FIELD_NUMBER) throw new WireFormatError(`invalid field number ${number} at offset ${offset}`);
  let valueStart = tag.next;
  let valueEnd: number;
  let end: number;
  switch (wireType) {
    case WIRE_TYPE.varint:
      end = valueEnd = readVarint(buffer, valueStart).next;
      break;
    case WIRE_TYPE.fixed64:
      end = valueEnd = valueStart + 8;
      break;
    case WIRE_TYPE.fixed32:
      end = valueEnd = valueStart + 4;
      break;
    case WIRE_TYPE.len: {
      const length = readVarint(buffer, valueStart);
      valueStart = length.next;
      end = valueEnd = valueStart + length.value;
      break;
    }
    case WIRE_TYPE.startGroup: {
      // Deprecated groups: the payload runs to the matching end-group tag.
      let cursor = valueStart;
      for (;;) {
        if (cursor >= buffer.length) throw new WireFormatError(`unterminated group ${number} at offset ${offset}`);
        const inner = readField(buffer, cursor);
        if (inner.wireType === WIRE_TYPE.endGroup) {
          if (inner.number !== number) throw new WireFormatError(`group ${number} closed by ${inner.number} at offset ${cursor}`);
          valueEnd = cursor;
          end = inner.end;
          break;
        }
        cursor = inner.end;
      }
      break;
    }
    case WIRE_TYPE.endGroup:
      end = valueEnd = valueStart;
      break;
    default:
      throw new WireFormatError(`unknown wire type ${wireType} at offset ${offset}`);
  }
  if (end > buffer.length) throw new WireFormatError(`field ${number} runs past the end of the message (offset ${offset})`);
  return { number, wireType: wireType as WireType, start: offset, end, valueStart, valueEnd };
}

/** Every top-level field of a message, in order. Throws WireFormatError on malformed input. */
export function readFields(buffer: Uint8Array): WireField[] {
  const fields: WireField[] = [];
  let offset = 0;
  while (offset < buffer.length) {
    const field = readField(buffer, offset);
    if (field.wireType === WIRE_TYPE.endGroup) throw new WireFormatError(`stray end-group tag at offset ${offset}`);
    fields.push(field);
    offset = field.end;
  }
  return fields;
}

function payloadOf(buffer: Uint8Array, field: WireField): Buffer {
  return Buffer.from(buffer.subarray(field.valueStart, field.valueEnd));
}

/** The merged payload of an embedded message field (all occurrences joined), or undefined when absent. */
export function readMessageField(buffer: Uint8Array, number: number): Buffer | undefined {
  const parts = readFields(buffer)
    .filter((field) => field.number === number && field.wireType === WIRE_TYPE.len)
    .map((field) => payloadOf(buffer, field));
  return parts.length > 0 ? Buffer.concat(parts) : undefined;
}

/** A string field's value (the last occurrence wins), or undefined when absent. */
export function readStringField(buffer: Uint8Array, number: number): string | undefined {
  const last = readFields(buffer)
    .filter((field) => field.number === number && field.wireType === WIRE_TYPE.len)
    .pop();
  return last ? payloadOf(buffer, last).toString('utf8') : undefined;
}

/**
 * Replaces every occurrence of field `number` with `replacement` (an encoded field,
 * or nothing to delete it), put where the first occurrence was, or at the end when
 * the field was absent. All other bytes are copied unchanged.
 */
export function replaceField(buffer: Uint8Array, number: number, replacement: Uint8Array | undefined): Buffer {
  const parts: Uint8Array[] = [];
  let placed = false;
  let copyFrom = 0;
  for (const field of readFields(buffer)) {
    if (field.number !== number) continue;
    parts.push(buffer.subarray(copyFrom, field.start));
    if (!placed && replacement) parts.push(replacement);
    placed = true;
    copyFrom = field.end;
  }
  parts.push(buffer.subarray(copyFrom));
  if (!placed && replacement) parts.push(replacement);
  return Buffer.concat(parts);
}

/** Sets a string field to `value` (or removes it when undefined). */
export function setStringField(buffer: Uint8Array, number: number, value: string | undefined): Buffer {
  return replaceField(buffer, number, value === undefined ? undefined : encodeStringField(number, value));
}

/**
 * Edits the embedded message in field `number`: `edit` gets its merged payload (empty
 * when absent) and returns the new payload. The field is written once, in place.
 */
export function editMessageField(buffer: Uint8Array, number: number, edit: (payload: Buffer) => Buffer): Buffer {
  const current = readMessageField(buffer, number) ?? Buffer.alloc(0);
  return replaceField(buffer, number, encodeLenField(number, edit(current)));
}
