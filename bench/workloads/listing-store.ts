// Writes a registry data directory in distribution's on-disk layout directly (no
// server involved): `repositories` repositories spread over 50 namespaces, each
// holding the same small image under tag `latest`, and one repository `bench/tags`
// with `tags` tags on that image. Written once per run; each server gets a copy.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

function digestOf(data: string): { digest: string; hex: string } {
  const hex = createHash('sha256').update(data).digest('hex');
  return { digest: `sha256:${hex}`, hex };
}

function writeFile(file: string, content: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
}

export function repositoryName(index: number): string {
  return `ns${String(index % 50).padStart(2, '0')}/repo${String(index).padStart(5, '0')}`;
}

export function tagName(index: number): string {
  return `t${String(index).padStart(5, '0')}`;
}

export function writeListingStore(root: string, repositories: number, tags: number): void {
  const v2 = path.join(root, 'docker', 'registry', 'v2');
  const config = JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } });
  const layer = 'berth bench listing layer';
  const configBlob = digestOf(config);
  const layerBlob = digestOf(layer);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configBlob.digest, size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerBlob.digest, size: layer.length }],
  });
  const manifestBlob = digestOf(manifest);
  for (const [blob, content] of [
    [configBlob, config],
    [layerBlob, layer],
    [manifestBlob, manifest],
  ] as const) {
    writeFile(path.join(v2, 'blobs', 'sha256', blob.hex.slice(0, 2), blob.hex, 'data'), content);
  }
  const writeRepository = (name: string, tagNames: readonly string[]): void => {
    const repo = path.join(v2, 'repositories', name);
    for (const blob of [configBlob, layerBlob]) writeFile(path.join(repo, '_layers', 'sha256', blob.hex, 'link'), blob.digest);
    writeFile(path.join(repo, '_manifests', 'revisions', 'sha256', manifestBlob.hex, 'link'), manifestBlob.digest);
    for (const tag of tagNames) {
      const dir = path.join(repo, '_manifests', 'tags', tag);
      writeFile(path.join(dir, 'current', 'link'), manifestBlob.digest);
      writeFile(path.join(dir, 'index', 'sha256', manifestBlob.hex, 'link'), manifestBlob.digest);
    }
  };
  for (let i = 0; i < repositories; i++) writeRepository(repositoryName(i), ['latest']);
  writeRepository('bench/tags', Array.from({ length: tags }, (_, i) => tagName(i)));
}
