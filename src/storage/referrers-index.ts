// The referrers API over distribution's layout, which has no referrers index of its
// own: a repository's revisions are listed (LayoutStorage, through its listing cache) and each
// manifest's subject is looked up; manifests are content-addressed, so what each one
// refers to is cached forever.
import { LRUCache } from 'lru-cache';
import type { Digest } from '../oci/digest.js';
import { effectiveArtifactType, type Descriptor } from '../oci/manifest.js';
import type { StoredManifest } from './types.js';

interface ReferrerFacts {
  readonly subject: string | undefined;
  readonly descriptor: Descriptor;
}

export type ManifestLoader = (repository: string, digest: Digest) => Promise<StoredManifest | undefined>;
export type RevisionLister = (repository: string) => Promise<readonly Digest[]>;

export function referrerDescriptor(stored: StoredManifest): Descriptor {
  const artifactType = effectiveArtifactType(stored.manifest);
  return {
    mediaType: stored.mediaType,
    digest: stored.digest,
    size: stored.bytes.length,
    ...(artifactType !== undefined ? { artifactType } : {}),
    ...(stored.manifest.annotations ? { annotations: stored.manifest.annotations } : {}),
  };
}

export class ReferrersIndex {
  private readonly facts = new LRUCache<string, ReferrerFacts>({ max: 100_000 });

  constructor(
    private readonly revisions: RevisionLister,
    private readonly load: ManifestLoader,
  ) {}

  async referrers(repository: string, subject: Digest): Promise<Descriptor[]> {
    const result: Descriptor[] = [];
    for (const digest of await this.revisions(repository)) {
      const facts = await this.factsFor(repository, digest);
      if (facts?.subject === subject.value) result.push(facts.descriptor);
    }
    return result;
  }

  private async factsFor(repository: string, digest: Digest): Promise<ReferrerFacts | undefined> {
    const known = this.facts.get(digest.value);
    if (known) return known;
    const stored = await this.load(repository, digest);
    if (!stored) return undefined;
    const facts: ReferrerFacts = { subject: stored.manifest.subject?.digest, descriptor: referrerDescriptor(stored) };
    this.facts.set(digest.value, facts);
    return facts;
  }
}
