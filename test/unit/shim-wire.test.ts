// The protobuf wire helper the shim edits CRI requests with: messages round-trip,
// replaced fields are replaced, and every field the shim does not know (top level and
// inside the ImageSpec) survives byte for byte. Cross-checked against protobufjs
// (through proto-loader's codecs for the same api.proto).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { loadSync } from '@grpc/proto-loader';
import { PROTO_FILE } from '../../src/shim/cri.js';
import { pullRequestHasAuth, requestImage, withPullCredentials, withRequestImage } from '../../src/shim/cri-messages.js';
import {
  WIRE_TYPE,
  WireFormatError,
  editMessageField,
  encodeLenField,
  encodeStringField,
  encodeTag,
  encodeVarint,
  readFields,
  readMessageField,
  readStringField,
  readVarint,
  replaceField,
} from '../../src/shim/wire.js';

type FieldSpec =
  | { number: number; kind: 'varint'; value: bigint }
  | { number: number; kind: 'fixed64'; bytes: Uint8Array }
  | { number: number; kind: 'fixed32'; bytes: Uint8Array }
  | { number: number; kind: 'len'; bytes: Uint8Array }
  | { number: number; kind: 'group'; inner: FieldSpec[] };

function encodeField(field: FieldSpec): Buffer {
  switch (field.kind) {
    case 'varint':
      return Buffer.concat([encodeTag(field.number, WIRE_TYPE.varint), encodeVarint(field.value)]);
    case 'fixed64':
      return Buffer.concat([encodeTag(field.number, WIRE_TYPE.fixed64), field.bytes]);
    case 'fixed32':
      return Buffer.concat([encodeTag(field.number, WIRE_TYPE.fixed32), field.bytes]);
    case 'len':
      return encodeLenField(field.number, field.bytes);
    case 'group':
      return Buffer.concat([encodeTag(field.number, WIRE_TYPE.startGroup), ...field.inner.map(encodeField), encodeTag(field.number, WIRE_TYPE.endGroup)]);
  }
}

const fieldNumber = fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 2 ** 29 - 1 }));

const leafField: fc.Arbitrary<FieldSpec> = fc.oneof(
  fc.record({ number: fieldNumber, kind: fc.constant('varint' as const), value: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }),
  fc.record({ number: fieldNumber, kind: fc.constant('fixed64' as const), bytes: fc.uint8Array({ minLength: 8, maxLength: 8 }) }),
  fc.record({ number: fieldNumber, kind: fc.constant('fixed32' as const), bytes: fc.uint8Array({ minLength: 4, maxLength: 4 }) }),
  fc.record({ number: fieldNumber, kind: fc.constant('len' as const), bytes: fc.uint8Array({ maxLength: 300 }) }),
);

const anyField: fc.Arbitrary<FieldSpec> = fc.oneof(
  { weight: 5, arbitrary: leafField },
  { weight: 1, arbitrary: fc.record({ number: fieldNumber, kind: fc.constant('group' as const), inner: fc.array(leafField, { maxLength: 4 }) }) },
);

const message = fc.array(anyField, { maxLength: 12 });

function encodeMessage(fields: FieldSpec[]): Buffer {
  return Buffer.concat(fields.map(encodeField));
}

test('varints round-trip up to 64 bits', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: 2n ** 53n - 1n }), (value) => {
      const encoded = encodeVarint(value);
      const decoded = readVarint(encoded, 0);
      assert.equal(decoded.value, Number(value));
      assert.equal(decoded.next, encoded.length);
    }),
  );
  assert.equal(encodeVarint(2n ** 64n - 1n).length, 10);
  assert.equal(encodeVarint(-1).length, 10, 'negative int32/int64 values take ten bytes on the wire');
});

test('readFields splits any message into its fields, byte exact', () => {
  fc.assert(
    fc.property(message, (fields) => {
      const encoded = encodeMessage(fields);
      const read = readFields(encoded);
      assert.equal(read.length, fields.length);
      read.forEach((field, index) => {
        assert.equal(field.number, fields[index]!.number);
        assert.deepEqual(encoded.subarray(field.start, field.end), encodeField(fields[index]!));
      });
      // The fields tile the message: nothing skipped, nothing read twice.
      assert.equal(Buffer.concat(read.map((f) => encoded.subarray(f.start, f.end))).equals(encoded), true);
    }),
  );
});

test('replaceField changes only that field and keeps every other byte in order', () => {
  fc.assert(
    fc.property(message, fieldNumber, fc.option(fc.uint8Array({ maxLength: 64 }), { nil: undefined }), (fields, target, payload) => {
      const encoded = encodeMessage(fields);
      const replacement = payload === undefined ? undefined : encodeLenField(target, payload);
      const edited = replaceField(encoded, target, replacement);
      const others = (buffer: Buffer): Buffer[] =>
        readFields(buffer)
          .filter((f) => f.number !== target)
          .map((f) => buffer.subarray(f.start, f.end));
      assert.deepEqual(others(edited), others(encoded));
      const mine = readFields(edited).filter((f) => f.number === target);
      if (replacement === undefined) assert.equal(mine.length, 0);
      else {
        assert.equal(mine.length, 1);
        assert.deepEqual(edited.subarray(mine[0]!.start, mine[0]!.end), replacement);
      }
      // Where the field was, it stays: fields before the first occurrence are untouched.
      const firstAt = readFields(encoded).findIndex((f) => f.number === target);
      if (firstAt >= 0 && replacement) assert.equal(readFields(edited).findIndex((f) => f.number === target), firstAt);
    }),
  );
});

test('editMessageField merges repeated occurrences of an embedded message, as protobuf does', () => {
  const first = encodeStringField(1, 'a');
  const second = encodeStringField(2, 'b');
  const encoded = Buffer.concat([encodeLenField(1, first), encodeStringField(9, 'keep'), encodeLenField(1, second)]);
  assert.deepEqual(readMessageField(encoded, 1), Buffer.concat([first, second]));
  const edited = editMessageField(encoded, 1, (payload) => Buffer.concat([payload, encodeStringField(3, 'c')]));
  assert.deepEqual(readFields(edited).map((f) => f.number), [1, 9]);
  assert.equal(readStringField(readMessageField(edited, 1)!, 3), 'c');
  assert.equal(readStringField(readMessageField(edited, 1)!, 2), 'b');
  assert.equal(readStringField(edited, 9), 'keep');
});

test('a repeated string field reads as its last occurrence', () => {
  const encoded = Buffer.concat([encodeStringField(1, 'old'), encodeStringField(1, 'new')]);
  assert.equal(readStringField(encoded, 1), 'new');
});

test('malformed input is refused, never misread', () => {
  const bad = [
    Buffer.from([0x0a, 0x05, 0x61]), // length past the end
    Buffer.from([0x08]), // truncated varint
    Buffer.from([0x0f]), // wire type 7
    Buffer.from([0x00, 0x01]), // field number 0
    Buffer.from([0x0b, 0x08, 0x01]), // unterminated group
    Buffer.from([0x0c]), // stray end-group
    Buffer.from([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), // 11-byte varint
  ];
  for (const buffer of bad) assert.throws(() => readFields(buffer), WireFormatError, buffer.toString('hex'));
});

// ---- CRI requests, against protobufjs on the same .proto ----

const definition = loadSync(PROTO_FILE, { keepCase: false, longs: String, enums: String, defaults: false });
interface Codec {
  serialize(value: object): Buffer;
  deserialize(bytes: Buffer): Record<string, unknown>;
}
const pullRequest = definition['runtime.v1.PullImageRequest'] as unknown as Codec;

/** Fields the shim's proto does not declare: a newer kubelet's additions, at both levels. */
function withUnknownFields(request: Buffer, top: Buffer, insideSpec: Buffer): Buffer {
  const withSpecExtra = editMessageField(request, 1, (spec) => Buffer.concat([spec, insideSpec]));
  return Buffer.concat([withSpecExtra, top]);
}

const text = fc.string({ maxLength: 40 });
const unknownTop = fc.array(leafField.filter((f) => f.number > 3), { maxLength: 5 }).map(encodeMessage);
// Numbers the proto declares for ImageSpec (1, 2, 18-20) would be known fields, with a type.
const unknownSpec = fc.array(leafField.filter((f) => ![1, 2, 18, 19, 20].includes(f.number)), { maxLength: 5 }).map(encodeMessage);

test('rewriting the image of a PullImageRequest keeps unknown fields (top level and in ImageSpec) and the sandbox config', () => {
  fc.assert(
    fc.property(text, text, text, text, unknownTop, unknownSpec, (image, newImage, user, pass, top, spec) => {
      const base = pullRequest.serialize({ image: { image, annotations: { 'a.b/c': 'd' } }, auth: { username: user, password: pass } });
      // sandbox_config (field 3) is not in the shim's proto at all: give it bytes too.
      const sandbox = encodeLenField(3, Buffer.concat([encodeStringField(2, 'hostname'), encodeStringField(3, '/var/log/pods/x')]));
      const original = Buffer.concat([withUnknownFields(base, top, spec), sandbox]);
      const edited = withRequestImage(original, newImage);
      assert.equal(requestImage(edited), newImage);
      const decoded = pullRequest.deserialize(edited);
      assert.deepEqual((decoded['image'] as Record<string, unknown>)['annotations'], { 'a.b/c': 'd' });
      // Every field other than ImageSpec.image is byte-identical.
      const strip = (buffer: Buffer): Buffer => editMessageField(buffer, 1, (s) => replaceField(s, 1, undefined));
      assert.deepEqual(strip(edited), strip(original));
      assert.ok(edited.includes(sandbox), 'sandbox_config bytes survive');
      if (top.length > 0) assert.ok(edited.includes(top), 'unknown top-level fields survive');
    }),
  );
});

test('credentials are replaced, or removed, and nothing else changes', () => {
  fc.assert(
    fc.property(text, text, text, unknownTop, (user, pass, image, top) => {
      const original = Buffer.concat([pullRequest.serialize({ image: { image }, auth: { username: user, password: pass, serverAddress: 'docker.io', identityToken: 'tok' } }), top]);
      const replaced = withPullCredentials(original, { username: 'admin', password: 'p:a:s:s' });
      const auth = pullRequest.deserialize(replaced)['auth'] as Record<string, unknown>;
      assert.deepEqual(auth, { username: 'admin', password: 'p:a:s:s' }, 'kubelet credentials for another registry are gone');
      assert.equal(requestImage(replaced), image);
      const removed = withPullCredentials(original, undefined);
      assert.equal(pullRequest.deserialize(removed)['auth'], undefined);
      assert.equal(pullRequestHasAuth(removed), false);
      assert.deepEqual(replaceField(removed, 2, undefined), replaceField(original, 2, undefined));
    }),
  );
});

test('pullRequestHasAuth: an empty AuthConfig is no credentials', () => {
  assert.equal(pullRequestHasAuth(pullRequest.serialize({ image: { image: 'x' } })), false);
  assert.equal(pullRequestHasAuth(Buffer.concat([pullRequest.serialize({ image: { image: 'x' } }), encodeLenField(2, Buffer.alloc(0))])), false);
  assert.equal(pullRequestHasAuth(pullRequest.serialize({ image: { image: 'x' }, auth: { registryToken: 't' } })), true);
});
