// What the UI's tables show that the registry does not store: per image its platforms,
// compressed size and creation time; per repository its tag count, last push and size.
// They are computed from manifests and configs when a page asks for them. Facts about a
// manifest are cached by digest (content-addressed, so never stale); tag targets and
// push times are read fresh each time (a link and a stat per tag), which keeps a page
// of the repository list cheap however many repositories the registry holds.
import { LRUCache } from 'lru-cache';
import { parseDigest } from '../../oci/digest.js';
import type { Descriptor, Platform } from '../../oci/manifest.js';
import type { RegistryStorage, TagInfo } from '../../storage/types.js';
import { mapSettled } from '../../util/pool.js';
import type { RepositorySummary } from './api-types.js';

export interface ImageFacts {
  readonly mediaType: string;
  readonly artifactType: string | null;
  readonly platforms: readonly string[];
  readonly created: string | null;
  /** Every blob the image references, manifests included, with its size. */
  readonly blobs: ReadonlyMap<string, number>;
}

/** Configs are small JSON documents; anything bigger is not read into memory. */
export const CONFIG_LIMIT = 4 * 1024 * 1024;

/** How many storage reads one summary keeps in flight. */
const CONCURRENCY = 8;

export type JsonBlob =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly reason: 'missing' | 'too-large' | 'not-json' };

/** A repository's blob parsed as JSON (an image config), up to `limit` bytes. */
export async function readJsonBlob(storage: RegistryStorage, repository: string, digest: string, limit = CONFIG_LIMIT): Promise<JsonBlob> {
  const parsed = parseDigest(digest);
  const info = parsed ? await storage.statBlob(repository, parsed) : undefined;
  if (!parsed || !info) return { ok: false, reason: 'missing' };
  if (info.size > limit) return { ok: false, reason: 'too-large' };
  const stream = await storage.openBlob(repository, parsed);
  if (!stream) return { ok: false, reason: 'missing' };
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += (chunk as Buffer).length;
    if (total > limit) {
      stream.destroy();
      return { ok: false, reason: 'too-large' };
    }
    chunks.push(chunk as Buffer);
  }
  try {
    return { ok: true, value: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown };
  } catch {
    return { ok: false, reason: 'not-json' };
  }
}

export function platformName(platform: Pick<Platform, 'os' | 'architecture' | 'variant'>): string {
  return [platform.os, platform.architecture, platform.variant].filter((part) => part !== undefined && part !== '').join('/');
}

/** Runs `work` over `items`, a few at a time; the first failure is thrown. */
async function mapLimited<T, R>(items: readonly T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const settled = await mapSettled(items, CONCURRENCY, work);
  return settled.map((outcome) => {
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  });
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

export class ImageSummaries {
  private readonly facts = new LRUCache<string, ImageFacts>({ max: 50_000 });

  constructor(private readonly storage: RegistryStorage) {}

  /** Facts about the manifest `digest` of `repository`; undefined when the repository lacks it. */
  async image(repository: string, digest: string, depth = 0): Promise<ImageFacts | undefined> {
    const cached = this.facts.get(digest);
    if (cached) return cached;
    const parsed = parseDigest(digest);
    const stored = parsed ? await this.storage.manifestByDigest(repository, parsed) : undefined;
    if (!stored) return undefined;
    const manifest = stored.manifest;
    const blobs = new Map<string, number>([[stored.digest, stored.bytes.length]]);
    let platforms: string[] = [];
    let created: string | null = null;
    if (manifest.kind === 'image') {
      for (const blob of [manifest.config, ...manifest.layers]) blobs.set(blob.digest, blob.size);
      const config = await readJsonBlob(this.storage, repository, manifest.config.digest);
      if (config.ok) {
        created = text(field(config.value, 'created')) ?? null;
        const os = text(field(config.value, 'os'));
        const architecture = text(field(config.value, 'architecture'));
        if (os !== undefined && architecture !== undefined) platforms = [platformName({ os, architecture, variant: text(field(config.value, 'variant')) })];
      }
    } else {
      const children = depth < 2 ? await mapLimited(manifest.manifests, (child) => this.child(repository, child, depth)) : [];
      manifest.manifests.forEach((descriptor, index) => {
        blobs.set(descriptor.digest, descriptor.size);
        const facts = children[index];
        for (const [blob, size] of facts?.blobs ?? []) blobs.set(blob, size);
        if (facts?.created && (created === null || facts.created > created)) created = facts.created;
        if (descriptor.platform) platforms.push(platformName(descriptor.platform));
        else platforms.push(...(facts?.platforms ?? []));
      });
    }
    const facts: ImageFacts = { mediaType: stored.mediaType, artifactType: manifest.artifactType ?? null, platforms, created, blobs };
    this.facts.set(digest, facts);
    return facts;
  }

  private child(repository: string, descriptor: Descriptor, depth: number): Promise<ImageFacts | undefined> {
    return this.image(repository, descriptor.digest, depth + 1);
  }

  /** Every tag of the repository with its target and push time (tags that vanish meanwhile are left out). */
  async tags(repository: string): Promise<Array<{ tag: string } & TagInfo> | undefined> {
    const names = await this.storage.listTags(repository);
    if (names === undefined) return undefined;
    const infos = await mapLimited(names, async (tag) => ({ tag, info: await this.storage.tagInfo(repository, tag) }));
    return infos.flatMap(({ tag, info }) => (info ? [{ tag, ...info }] : []));
  }

  async repository(name: string): Promise<RepositorySummary> {
    const tags = (await this.tags(name)) ?? [];
    const digests = [...new Set(tags.map((tag) => tag.digest))];
    const blobs = new Map<string, number>();
    for (const facts of await mapLimited(digests, (digest) => this.image(name, digest))) {
      for (const [blob, size] of facts?.blobs ?? []) blobs.set(blob, size);
    }
    const lastPushMs = tags.reduce((newest, tag) => Math.max(newest, tag.updatedMs), -Infinity);
    let size = 0;
    for (const blobSize of blobs.values()) size += blobSize;
    return { name, tags: tags.length, lastPush: Number.isFinite(lastPushMs) ? new Date(lastPushMs).toISOString() : null, size };
  }

  repositories(names: readonly string[]): Promise<RepositorySummary[]> {
    return mapLimited(names, (name) => this.repository(name));
  }
}
