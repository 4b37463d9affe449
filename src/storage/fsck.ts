// Consistency check of a registry's storage (a data directory, a bucket): every blob's
// bytes against its digest, every link against what it names, every tag against an
// existing manifest. With `repair`, each problem is moved aside into
// docker/registry/v2/_berth/quarantine/<run>/ (never deleted), so a registry serving the
// storage stops offering broken content.
import { createHash } from 'node:crypto';
import { parseDigest, SUPPORTED_ALGORITHMS, type Digest } from '../oci/digest.js';
import { manifestReferences, parseManifest } from '../oci/manifest.js';
import { isNonDistributableLayer } from '../oci/media-types.js';
import { contentStream } from './content-stream.js';
import type { StorageDriver } from './driver/driver.js';
import {
  BERTH_STATE_DIR,
  BLOBS_ROOT,
  blobDataPath,
  layerLinkDirectory,
  repositoryPath,
  revisionLinkDirectory,
  revisionsDirectory,
  tagsDirectory,
  uploadsDirectory,
} from './layout.js';
import { RepositoryCatalog } from './repository-catalog.js';

export type ProblemKind =
  | 'blob-corrupt'
  | 'blob-without-data'
  | 'link-invalid'
  | 'layer-link-dangling'
  | 'revision-dangling'
  | 'manifest-invalid'
  | 'manifest-reference-missing'
  | 'tag-dangling';

export interface FsckProblem {
  readonly kind: ProblemKind;
  /** Path relative to the data directory. */
  readonly path: string;
  readonly detail: string;
  /** Warnings are reported but never moved (they can be legitimate). */
  readonly severity: 'error' | 'warning';
  repaired?: boolean;
}

export interface FsckReport {
  blobs: number;
  bytes: number;
  repositories: number;
  manifests: number;
  tags: number;
  layerLinks: number;
  uploadSessions: number;
  readonly problems: FsckProblem[];
  quarantine: string | undefined;
}

const HASH_CONCURRENCY = 4;

async function readLink(driver: StorageDriver, path: string): Promise<Digest | undefined> {
  const content = await driver.getContent(path);
  return content ? parseDigest(content.toString('utf8').trim()) : undefined;
}

export async function fsck(fs: StorageDriver, options: { repair?: boolean } = {}): Promise<FsckReport> {
  const report: FsckReport = { blobs: 0, bytes: 0, repositories: 0, manifests: 0, tags: 0, layerLinks: 0, uploadSessions: 0, problems: [], quarantine: undefined };
  const quarantine = `${BERTH_STATE_DIR}/quarantine/${new Date().toISOString().replace(/[:.]/g, '-')}`;
  const moveAside = async (problem: FsckProblem): Promise<void> => {
    report.problems.push(problem);
    if (!options.repair || problem.severity !== 'error') return;
    await fs.move(problem.path, `${quarantine}/${problem.path}`);
    problem.repaired = true;
    report.quarantine = quarantine;
  };

  const goodBlobs = await checkBlobs(fs, report, moveAside);
  const catalog = new RepositoryCatalog(fs, 0);
  for (const repository of await catalog.list()) {
    report.repositories += 1;
    await checkRepository(fs, repository, goodBlobs, report, moveAside);
  }
  return report;
}

type MoveAside = (problem: FsckProblem) => Promise<void>;

/** Hashes every blob; returns the digests whose bytes are intact. */
async function checkBlobs(fs: StorageDriver, report: FsckReport, moveAside: MoveAside): Promise<Set<string>> {
  const good = new Set<string>();
  const candidates: Array<{ digest: Digest; dir: string }> = [];
  for (const algorithm of SUPPORTED_ALGORITHMS) {
    for (const prefix of await fs.list(`${BLOBS_ROOT}/${algorithm}`)) {
      for (const entry of await fs.list(`${BLOBS_ROOT}/${algorithm}/${prefix.name}`)) {
        const dir = `${BLOBS_ROOT}/${algorithm}/${prefix.name}/${entry.name}`;
        const digest = parseDigest(`${algorithm}:${entry.name}`);
        if (!digest || !entry.name.startsWith(prefix.name)) {
          await moveAside({ kind: 'link-invalid', path: dir, detail: 'not a blob directory of this layout', severity: 'error' });
          continue;
        }
        candidates.push({ digest, dir });
      }
    }
  }
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < candidates.length) {
      const { digest, dir } = candidates[next++]!;
      const source = await fs.open(blobDataPath(digest));
      if (!source) {
        await moveAside({ kind: 'blob-without-data', path: dir, detail: `${digest.value} has no data file`, severity: 'error' });
        continue;
      }
      const hash = createHash(digest.algorithm);
      let size = 0;
      for await (const chunk of contentStream(source)) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
      report.blobs += 1;
      report.bytes += size;
      const actual = `${digest.algorithm}:${hash.digest('hex')}`;
      if (actual === digest.value) good.add(digest.value);
      else await moveAside({ kind: 'blob-corrupt', path: dir, detail: `bytes hash to ${actual}`, severity: 'error' });
    }
  };
  await Promise.all(Array.from({ length: HASH_CONCURRENCY }, worker));
  return good;
}

async function checkRepository(fs: StorageDriver, repository: string, goodBlobs: Set<string>, report: FsckReport, moveAside: MoveAside): Promise<void> {
  // Layer links: each must name an intact blob.
  for (const algorithm of SUPPORTED_ALGORITHMS) {
    for (const entry of await fs.list(`${repositoryPath(repository)}/_layers/${algorithm}`)) {
      const claimed = parseDigest(`${algorithm}:${entry.name}`);
      const dir = `${repositoryPath(repository)}/_layers/${algorithm}/${entry.name}`;
      report.layerLinks += 1;
      const linked = claimed ? await readLink(fs, `${layerLinkDirectory(repository, claimed)}/link`) : undefined;
      if (!claimed || !linked) await moveAside({ kind: 'link-invalid', path: dir, detail: 'missing or malformed link file', severity: 'error' });
      else if (!goodBlobs.has(linked.value)) await moveAside({ kind: 'layer-link-dangling', path: dir, detail: `names ${linked.value}, which is missing or corrupt`, severity: 'error' });
    }
  }
  // Revisions: each must name an intact, parseable manifest; missing references are
  // warnings (a sparse manifest may legitimately lack them).
  const manifests = new Set<string>();
  for (const algorithm of SUPPORTED_ALGORITHMS) {
    for (const entry of await fs.list(`${revisionsDirectory(repository)}/${algorithm}`)) {
      const claimed = parseDigest(`${algorithm}:${entry.name}`);
      const dir = `${revisionsDirectory(repository)}/${algorithm}/${entry.name}`;
      const linked = claimed ? await readLink(fs, `${revisionLinkDirectory(repository, claimed)}/link`) : undefined;
      if (!claimed || !linked) {
        await moveAside({ kind: 'link-invalid', path: dir, detail: 'missing or malformed link file', severity: 'error' });
        continue;
      }
      report.manifests += 1;
      if (!goodBlobs.has(linked.value)) {
        await moveAside({ kind: 'revision-dangling', path: dir, detail: `manifest ${linked.value} is missing or corrupt`, severity: 'error' });
        continue;
      }
      const parsed = parseManifest((await fs.getContent(blobDataPath(linked))) ?? Buffer.alloc(0));
      if (!parsed.ok) {
        await moveAside({ kind: 'manifest-invalid', path: dir, detail: parsed.reason, severity: 'error' });
        continue;
      }
      manifests.add(linked.value);
      for (const { role, descriptor } of manifestReferences(parsed.manifest)) {
        if (role === 'layer' && isNonDistributableLayer(descriptor.mediaType)) continue;
        if (!goodBlobs.has(descriptor.digest)) {
          report.problems.push({ kind: 'manifest-reference-missing', path: dir, detail: `${role} ${descriptor.digest} is not in the blob store`, severity: 'warning' });
        }
      }
    }
  }
  // Tags: the current link must name a manifest that survived the checks above.
  for (const entry of await fs.list(tagsDirectory(repository))) {
    report.tags += 1;
    const dir = `${tagsDirectory(repository)}/${entry.name}`;
    const target = await readLink(fs, `${dir}/current/link`);
    if (!target) await moveAside({ kind: 'tag-dangling', path: dir, detail: 'no current link', severity: 'error' });
    else if (!manifests.has(target.value)) await moveAside({ kind: 'tag-dangling', path: dir, detail: `points at ${target.value}, which this repository cannot serve`, severity: 'error' });
  }
  report.uploadSessions += (await fs.list(uploadsDirectory(repository))).length;
}
