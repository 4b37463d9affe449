// Manifest parsing: the four media types, Content-Type agreement, descriptor checks,
// and the property that no input makes the parser throw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { digestOf } from '../../src/oci/digest.js';
import { effectiveArtifactType, manifestReferences, parseManifest } from '../../src/oci/manifest.js';
import { MEDIA_TYPE } from '../../src/oci/media-types.js';

const config = { mediaType: MEDIA_TYPE.ociConfig, digest: digestOf('{}').value, size: 2 };
const layer = { mediaType: MEDIA_TYPE.ociLayerGzip, digest: digestOf('layer').value, size: 5 };
const bytes = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

test('parses an OCI image manifest and lists what it references', () => {
  const result = parseManifest(bytes({ schemaVersion: 2, mediaType: MEDIA_TYPE.ociManifest, config, layers: [layer] }), MEDIA_TYPE.ociManifest);
  assert.ok(result.ok);
  assert.equal(result.manifest.kind, 'image');
  assert.deepEqual(manifestReferences(result.manifest).map((r) => r.role), ['config', 'layer']);
  assert.equal(effectiveArtifactType(result.manifest), MEDIA_TYPE.ociConfig);
});

test('infers the type when mediaType and Content-Type say nothing', () => {
  const image = parseManifest(bytes({ schemaVersion: 2, config, layers: [] }));
  assert.ok(image.ok && image.manifest.mediaType === MEDIA_TYPE.ociManifest);
  const index = parseManifest(bytes({ schemaVersion: 2, manifests: [] }), 'application/json');
  assert.ok(index.ok && index.manifest.kind === 'index');
});

test('docker schema2 manifest lists and manifests parse', () => {
  const list = parseManifest(
    bytes({ schemaVersion: 2, mediaType: MEDIA_TYPE.dockerManifestList, manifests: [{ ...layer, mediaType: MEDIA_TYPE.dockerManifest, platform: { os: 'linux', architecture: 'amd64' } }] }),
    MEDIA_TYPE.dockerManifestList,
  );
  assert.ok(list.ok && list.manifest.kind === 'index');
});

test('refuses what a registry must refuse', () => {
  const cases: Array<[unknown, string | undefined, RegExp]> = [
    [{ schemaVersion: 1, name: 'x' }, undefined, /schema1/],
    [{ schemaVersion: 2, mediaType: MEDIA_TYPE.ociIndex, manifests: [] }, MEDIA_TYPE.ociManifest, /does not match/],
    [{ schemaVersion: 2, config, layers: [] }, 'text/plain', /unsupported manifest Content-Type/],
    [{ schemaVersion: 2, config: { ...config, digest: 'sha256:nothex' }, layers: [] }, undefined, /invalid digest/],
    [{ schemaVersion: 2, config: { ...config, size: -1 }, layers: [] }, undefined, /config\.size/],
    [{ schemaVersion: 2, config, layers: [{ ...layer, data: Buffer.from('other').toString('base64') }] }, undefined, /does not match its digest/],
    [{ schemaVersion: 2, mediaType: 'application/vnd.oci.artifact.manifest.v1+json', blobs: [] }, undefined, /unsupported manifest mediaType/],
    [[], undefined, /not a JSON object/],
  ];
  for (const [body, contentType, reason] of cases) {
    const result = parseManifest(bytes(body), contentType);
    assert.equal(result.ok, false, JSON.stringify(body));
    if (!result.ok) assert.match(result.reason, reason);
  }
  const notJson = parseManifest(Buffer.from('{not json'));
  assert.ok(!notJson.ok && /not valid JSON/.test(notJson.reason));
});

test('a descriptor with matching data is accepted', () => {
  const data = Buffer.from('layer');
  const result = parseManifest(bytes({ schemaVersion: 2, config, layers: [{ ...layer, data: data.toString('base64') }] }));
  assert.ok(result.ok);
});

test('property: no byte string or JSON value makes the parser throw', () => {
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.json().map((j) => Buffer.from(j))), fc.option(fc.string({ maxLength: 60 })), (body, contentType) => {
      const result = parseManifest(body, contentType ?? undefined);
      assert.equal(typeof result.ok, 'boolean');
    }),
    { numRuns: 3000 },
  );
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      parseManifest(bytes({ schemaVersion: 2, config: value, layers: value, manifests: value }));
    }),
    { numRuns: 2000 },
  );
});
