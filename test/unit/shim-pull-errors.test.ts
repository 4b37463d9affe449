// Where a runtime's pull error says the pull went wrong, on messages containerd gives:
// a registry that went away (refused, reset, cut off), the runtime's own state (the
// snapshot and content races after a failed attempt), or a registry that said no.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyPullFailure } from '../../src/shim/pull-errors.js';

const IMAGE = '127.0.0.1:41234/library/app@sha256:dded3bebd137b3473a10ce1bb1d959971f62dcf2262b73e91bef38e03cf19490';

test('unreachable: refused, reset, timed out, 5xx, or a body cut off mid-pull', () => {
  for (const message of [
    `failed to pull and unpack image "${IMAGE}": failed to resolve reference "${IMAGE}": failed to do request: Head "http://127.0.0.1:41234/v2/library/app/manifests/sha256:dd": dial tcp 127.0.0.1:41234: connect: connection refused`,
    `failed to pull and unpack image "${IMAGE}": failed to read expected number of bytes: unexpected EOF`,
    `failed to pull and unpack image "${IMAGE}": failed to copy: read tcp 127.0.0.1:50000->127.0.0.1:41234: read: connection reset by peer`,
    'failed to do request: Head "http://private:5000/v2/": dial tcp: i/o timeout',
    `failed to copy: httpReadSeeker: failed open: unexpected status code http://127.0.0.1:41234/v2/library/app/blobs/sha256:1: 503 Service Unavailable`,
  ]) {
    assert.equal(classifyPullFailure(message), 'unreachable', message);
  }
});

test("runtime: containerd's snapshots or content store failed it (worth one more try from the same registry)", () => {
  for (const message of [
    `failed to pull and unpack image "${IMAGE}": failed to prepare extraction snapshot "extract-36389086-EGq- sha256:68d8417feb6f14fbc66dba428c38c24e73df05b84891562ed65a93b0ce101d57": parent snapshot sha256:cafde5e40075b1a877e202c94847316fa3a55bd815dee84b10ab18c6e2832750 does not exist: not found`,
    `failed to pull and unpack image "${IMAGE}": failed to extract layer sha256:1: failed to get reader from content store: content digest sha256:2: not found`,
  ]) {
    assert.equal(classifyPullFailure(message), 'runtime', message);
  }
});

test('other: the registry answered and said no', () => {
  for (const message of [
    'failed to copy: httpReadSeeker: failed open: unexpected status code 404 Not Found',
    `failed to pull and unpack image "${IMAGE}": failed to resolve reference "${IMAGE}": pulling from host 127.0.0.1:41234 failed with status code [manifests sha256:dd]: 401 Unauthorized`,
    `failed to pull and unpack image "${IMAGE}": failed to resolve reference "${IMAGE}": ${IMAGE}: not found`,
  ]) {
    assert.equal(classifyPullFailure(message), 'other', message);
  }
});
