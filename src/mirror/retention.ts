// Retention of mirrored content: manifests nobody pulled for a mirror's `retention` are
// evicted (their revisions and the tags on them), then a garbage collection frees the
// blobs nothing references any more. Only repositories under a mirror's prefix are
// looked at; the collection runs with every other repository protected (each blob it
// links is kept and none of its links is removed), so pushed images are never touched.
//
// "Used" is the mtime of a revision's link: written when the mirror fetched it, touched
// when it is served (mirror-storage.ts). A manifest an index names is kept as long as
// the index is (clients often fetch only the platform they run).
import { parseDigest, type Digest } from '../oci/digest.js';
import type { MirrorSettings } from '../registry/mirror-config.js';
import { collectGarbage, DEFAULT_GC_GRACE_MS, type GcReport } from '../storage/gc.js';
import type { LayoutStorage } from '../storage/layout-storage.js';
import { MirrorTable } from './table.js';

export interface RetentionOptions {
  readonly dryRun?: boolean;
  readonly now?: () => number;
  /**
   * Collect even when nothing is evicted now: the last collection kept blobs it found
   * unreferenced but younger than its grace period (fetched after their manifest was
   * last used), which a later one frees.
   */
  readonly sweep?: boolean;
}

export interface RetentionReport {
  /** Manifest revisions evicted (with dryRun: that would be), with the tags that went with them. */
  readonly evicted: Array<{ repository: string; digest: string; source: string }>;
  /** Mirrored repositories looked at. */
  repositories: number;
  /** The collection that freed the evicted content (undefined: nothing evicted, or a dry run). */
  gc: GcReport | undefined;
}

interface Revision {
  readonly digest: Digest;
  readonly lastUsed: number;
}

export async function applyRetention(local: LayoutStorage, mirrors: readonly MirrorSettings[], options: RetentionOptions = {}): Promise<RetentionReport> {
  const now = options.now ?? Date.now;
  const table = new MirrorTable(mirrors.map((settings) => ({ settings })));
  const report: RetentionReport = { evicted: [], repositories: 0, gc: undefined };
  const retained = mirrors.filter((mirror) => mirror.retentionMs !== undefined);
  if (retained.length === 0) return report;
  for (const repository of await local.listRepositories()) {
    const route = table.route(repository);
    const retentionMs = route?.mirror.settings.retentionMs;
    if (!route || retentionMs === undefined) continue;
    report.repositories += 1;
    const cutoff = now() - retentionMs;
    for (const digest of await expired(local, repository, cutoff)) {
      report.evicted.push({ repository, digest: digest.value, source: route.mirror.settings.source });
      if (!options.dryRun) await local.deleteManifest(repository, digest);
    }
  }
  // A full mark and sweep only when there is something to free.
  if ((report.evicted.length === 0 && !options.sweep) || options.dryRun) return report;
  const shortest = Math.min(...retained.map((mirror) => mirror.retentionMs!));
  report.gc = await collectGarbage(local.driver, {
    // Protects what a fetch stored moments ago but has not linked yet.
    graceMs: Math.min(DEFAULT_GC_GRACE_MS, shortest),
    protect: (repository) => table.route(repository) === undefined,
    ...(options.now ? { now: options.now } : {}),
  });
  return report;
}

/** Revisions last used before `cutoff` that no kept index names. */
async function expired(local: LayoutStorage, repository: string, cutoff: number): Promise<Digest[]> {
  const revisions: Revision[] = [];
  for (const digest of await local.revisions(repository)) {
    const lastUsed = await local.manifestLastUsed(repository, digest);
    if (lastUsed !== undefined) revisions.push({ digest, lastUsed });
  }
  const kept = new Set(revisions.filter((revision) => revision.lastUsed >= cutoff).map((revision) => revision.digest.value));
  // Children of kept indexes stay, however long ago they were fetched themselves.
  for (const value of [...kept]) {
    const stored = await local.manifestByDigest(repository, parseDigest(value)!);
    if (stored?.manifest.kind === 'index') for (const child of stored.manifest.manifests) kept.add(child.digest);
  }
  return revisions.filter((revision) => !kept.has(revision.digest.value)).map((revision) => revision.digest);
}
