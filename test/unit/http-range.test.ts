// Range and Content-Range parsing: RFC cases and total behaviour on any input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseContentRange, parseRangeHeader } from '../../src/registry/http-range.js';

test('Range: the cases the conformance suite checks', () => {
  assert.deepEqual(parseRangeHeader('bytes=500-1499', 2048), { kind: 'range', range: { start: 500, end: 1499 } });
  assert.deepEqual(parseRangeHeader('bytes=500-', 2048), { kind: 'range', range: { start: 500, end: 2047 } });
  assert.deepEqual(parseRangeHeader('bytes=-500', 2048), { kind: 'range', range: { start: 1548, end: 2047 } });
  assert.deepEqual(parseRangeHeader('bytes=2000-5000', 2048), { kind: 'range', range: { start: 2000, end: 2047 } });
  assert.deepEqual(parseRangeHeader('bytes=500-0', 2048), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRangeHeader('bytes=5000-10000', 2048), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRangeHeader(undefined, 10), { kind: 'none' });
  assert.deepEqual(parseRangeHeader('bytes=0-1,5-6', 10), { kind: 'none' });
  assert.deepEqual(parseRangeHeader('items=0-1', 10), { kind: 'none' });
});

test('Content-Range: spec and RFC forms', () => {
  assert.deepEqual(parseContentRange('0-1023'), { kind: 'range', range: { start: 0, end: 1023 } });
  assert.deepEqual(parseContentRange('bytes 1024-2047/4096'), { kind: 'range', range: { start: 1024, end: 2047 } });
  assert.deepEqual(parseContentRange('bytes 0-9/*'), { kind: 'range', range: { start: 0, end: 9 } });
  assert.deepEqual(parseContentRange(undefined), { kind: 'none' });
  assert.deepEqual(parseContentRange('10-5'), { kind: 'invalid' });
  assert.deepEqual(parseContentRange('abc'), { kind: 'invalid' });
});

test('property: a satisfiable Range always lies inside the blob', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 40 }), fc.nat({ max: 1 << 30 }), (header, size) => {
      const result = parseRangeHeader(header, size);
      if (result.kind !== 'range') return;
      assert.ok(result.range.start >= 0 && result.range.start <= result.range.end && result.range.end < size);
    }),
    { numRuns: 5000 },
  );
  fc.assert(
    fc.property(fc.nat(), fc.nat(), fc.nat({ max: 1 << 30 }), (a, b, size) => {
      const result = parseRangeHeader(`bytes=${a}-${b}`, size);
      if (a < size && b >= a) assert.deepEqual(result, { kind: 'range', range: { start: a, end: Math.min(b, size - 1) } });
      else assert.equal(result.kind, 'unsatisfiable');
    }),
    { numRuns: 5000 },
  );
});

test('property: Content-Range never throws and ranges are ordered', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 40 }), (header) => {
      const result = parseContentRange(header);
      if (result.kind === 'range') assert.ok(result.range.start <= result.range.end);
    }),
    { numRuns: 5000 },
  );
});
