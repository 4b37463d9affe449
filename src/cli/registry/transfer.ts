// Many image copies at once for `registry save`, `sync` and `copy`: each image runs on
// its own (a bounded number in flight, blobs in parallel inside each), an image already
// current at the target is skipped without a manifest PUT, and a failure is reported
// and counted without stopping the others.
import type { ContentReader, ContentWriter, ManifestContent } from '../../client/content.js';
import { copyImage, CopyError } from '../../client/copy-image.js';
import { parseManifest } from '../../oci/manifest.js';
import { formatPlatform, selectPlatform, type PlatformSpec } from '../../oci/platform.js';
import { mapSettled } from '../../util/pool.js';
import { formatBytes } from './remote.js';
import { explainLine } from '../explain-error.js';

export interface TransferSpec {
  /** What the report calls this image, e.g. `docker.io/library/nginx:1 -> library/nginx:1`. */
  readonly label: string;
  readonly source: ContentReader;
  readonly target: ContentWriter;
  readonly sourceReference: string;
  readonly targetReferences: readonly string[];
  readonly allPlatforms: boolean;
  readonly platform: PlatformSpec;
  /** The digest the target reference points at now, if any: equal means nothing to do. */
  readonly current?: () => Promise<string | undefined>;
}

export interface TransferOutcome {
  readonly label: string;
  readonly status: 'copied' | 'current' | 'failed';
  readonly digest?: string;
  readonly uploaded?: number;
  readonly existed?: number;
  readonly bytes?: number;
  readonly error?: string;
}

/** Remembers manifests read once, so planning and copying fetch each only once. */
class CachingReader implements ContentReader {
  private readonly manifests = new Map<string, Promise<ManifestContent | undefined>>();
  readonly label: string;

  constructor(private readonly inner: ContentReader) {
    this.label = inner.label;
  }

  readManifest(reference: string): Promise<ManifestContent | undefined> {
    let pending = this.manifests.get(reference);
    if (!pending) {
      pending = this.inner.readManifest(reference);
      this.manifests.set(reference, pending);
    }
    return pending;
  }

  openBlob: ContentReader['openBlob'] = (descriptor) => this.inner.openBlob(descriptor);
}

/** The digest a copy would leave at the target: the root's, or the chosen platform's. */
async function plannedDigest(reader: ContentReader, spec: TransferSpec): Promise<string> {
  const root = await reader.readManifest(spec.sourceReference);
  if (!root) throw new CopyError(`${reader.label}:${spec.sourceReference}: manifest unknown`);
  if (spec.allPlatforms) return root.digest;
  const parsed = parseManifest(root.bytes, root.mediaType);
  if (!parsed.ok || parsed.manifest.kind !== 'index') return root.digest;
  const entry = selectPlatform(parsed.manifest.manifests, spec.platform);
  if (!entry) throw new CopyError(`${reader.label}:${spec.sourceReference} has no ${formatPlatform(spec.platform)} image`);
  return entry.digest;
}

async function transferOne(spec: TransferSpec, blobConcurrency: number): Promise<TransferOutcome> {
  const reader = new CachingReader(spec.source);
  if (spec.current) {
    const [planned, current] = await Promise.all([plannedDigest(reader, spec), spec.current()]);
    if (planned === current) return { label: spec.label, status: 'current', digest: planned };
  }
  const result = await copyImage(reader, spec.target, spec.sourceReference, spec.targetReferences, {
    allPlatforms: spec.allPlatforms,
    platform: spec.platform,
    concurrency: blobConcurrency,
  });
  return {
    label: spec.label,
    status: 'copied',
    digest: result.digest,
    uploaded: result.blobs.uploaded,
    existed: result.blobs.existed + result.blobs.mounted,
    bytes: result.blobs.bytes,
  };
}

export interface TransferSummary {
  readonly outcomes: TransferOutcome[];
  readonly copied: number;
  readonly current: number;
  readonly failed: number;
  readonly blobs: number;
  readonly bytes: number;
}

/** Runs every transfer, printing one line per image as it finishes. */
export async function runTransfers(specs: readonly TransferSpec[], options: { concurrency: number; blobConcurrency?: number }): Promise<TransferSummary> {
  const results = await mapSettled(specs, options.concurrency, async (spec) => {
    let outcome: TransferOutcome;
    try {
      outcome = await transferOne(spec, options.blobConcurrency ?? 4);
    } catch (error) {
      outcome = { label: spec.label, status: 'failed', error: explainLine(error) };
    }
    printOutcome(outcome);
    return outcome;
  });
  const outcomes = results.map((r, i) => (r.ok ? r.value : { label: specs[i]!.label, status: 'failed' as const, error: explainLine(r.error) }));
  return {
    outcomes,
    copied: outcomes.filter((o) => o.status === 'copied').length,
    current: outcomes.filter((o) => o.status === 'current').length,
    failed: outcomes.filter((o) => o.status === 'failed').length,
    blobs: outcomes.reduce((sum, o) => sum + (o.uploaded ?? 0), 0),
    bytes: outcomes.reduce((sum, o) => sum + (o.bytes ?? 0), 0),
  };
}

function printOutcome(outcome: TransferOutcome): void {
  switch (outcome.status) {
    case 'copied':
      process.stdout.write(
        `copied ${outcome.label} ${outcome.digest}: ${outcome.uploaded} blob(s) transferred (${formatBytes(outcome.bytes ?? 0)}), ${outcome.existed} already there\n`,
      );
      return;
    case 'current':
      process.stdout.write(`up to date ${outcome.label} ${outcome.digest}\n`);
      return;
    case 'failed':
      // On stdout with the other report lines: stderr keeps one final error line.
      process.stdout.write(`FAILED ${outcome.label}: ${outcome.error}\n`);
  }
}

/** The final error line's detail: the one failure, or a pointer to the FAILED lines. */
export function describeFailures(summary: TransferSummary): string {
  const failed = summary.outcomes.filter((o) => o.status === 'failed');
  if (failed.length === 1) return `${failed[0]!.label}: ${failed[0]!.error}`;
  return 'see the FAILED lines above';
}

export function describeSummary(summary: TransferSummary): string {
  const images = summary.outcomes.length;
  return `${images} image(s): ${summary.copied} copied, ${summary.current} up to date, ${summary.failed} failed; ${summary.blobs} blob(s) (${formatBytes(summary.bytes)}) transferred`;
}
