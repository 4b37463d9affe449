// Progress of blob transfers. On a TTY: one cli-progress bar per layer, redrawn in
// place. Otherwise: one plain line per layer when it is done, docker's wording
// (`<short digest>: Pull complete`, `Pushed`, `Layer already exists`), so logs and
// scripts read the same thing docker would print.
import { Transform, type Readable } from 'node:stream';
import cliProgress from 'cli-progress';
import type { BlobWriteOutcome, ContentDescriptor, ContentReader, ManifestContent } from '../../client/content.js';
import type { CopyEvent } from '../../client/copy-image.js';
import { MEDIA_TYPE } from '../../oci/media-types.js';
import { humanSize, shortId } from './human.js';

export type TransferKind = 'pull' | 'push' | 'copy';

const WORDS: Record<TransferKind, { active: string; outcome: Record<BlobWriteOutcome, string> }> = {
  pull: { active: 'Downloading', outcome: { uploaded: 'Pull complete', exists: 'Already exists', mounted: 'Already exists' } },
  push: { active: 'Pushing', outcome: { uploaded: 'Pushed', exists: 'Layer already exists', mounted: 'Mounted' } },
  copy: { active: 'Copying', outcome: { uploaded: 'Copied', exists: 'Already exists', mounted: 'Mounted' } },
};

/** docker reports layers only; configs are an implementation detail of the image. */
function isReported(descriptor: ContentDescriptor): boolean {
  const type = descriptor.mediaType;
  return !(type === MEDIA_TYPE.ociConfig || type === MEDIA_TYPE.dockerConfig || type === MEDIA_TYPE.ociEmpty || type.endsWith('.config.v1+json'));
}

export interface TransferReporter {
  onEvent(event: CopyEvent): void;
  progress(digest: string, bytes: number): void;
  /** Ends the display (bars stay in their final state). */
  close(): void;
}

export interface ReporterOptions {
  readonly quiet?: boolean;
  /** Wording after "Mounted" for cross-repository mounts: `from <repo>`. */
  readonly mountedFrom?: string;
}

class SilentReporter implements TransferReporter {
  onEvent(): void {}
  progress(): void {}
  close(): void {}
}

class LineReporter implements TransferReporter {
  constructor(
    private readonly kind: TransferKind,
    private readonly out: NodeJS.WritableStream,
    private readonly options: ReporterOptions,
  ) {}

  onEvent(event: CopyEvent): void {
    if (event.kind !== 'blob' || !isReported(event.descriptor)) return;
    this.out.write(`${shortId(event.descriptor.digest)}: ${outcomeText(this.kind, event.outcome, this.options)}\n`);
  }

  progress(): void {}
  close(): void {}
}

class BarReporter implements TransferReporter {
  private readonly bars = new Map<string, { bar: cliProgress.SingleBar; size: number; done: number }>();
  private readonly multibar: cliProgress.MultiBar;

  constructor(
    private readonly kind: TransferKind,
    stream: NodeJS.WriteStream,
    private readonly options: ReporterOptions,
  ) {
    this.multibar = new cliProgress.MultiBar({
      stream,
      format: '{id}: {status} [{bar}] {done}/{total_size}',
      barsize: 30,
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      autopadding: true,
      fps: 10,
    });
  }

  onEvent(event: CopyEvent): void {
    if (event.kind === 'manifest' || !isReported(event.descriptor)) return;
    const { digest, size } = event.descriptor;
    let entry = this.bars.get(digest);
    if (!entry) {
      const bar = this.multibar.create(Math.max(size, 1), 0, { id: shortId(digest), status: 'Waiting', done: humanSize(0), total_size: humanSize(size) });
      entry = { bar, size, done: 0 };
      this.bars.set(digest, entry);
    }
    if (event.kind === 'blob-start') {
      entry.bar.update(0, { status: WORDS[this.kind].active });
      return;
    }
    entry.bar.update(Math.max(size, 1), { status: outcomeText(this.kind, event.outcome, this.options), done: humanSize(size) });
  }

  progress(digest: string, bytes: number): void {
    const entry = this.bars.get(digest);
    if (!entry) return;
    entry.done += bytes;
    entry.bar.update(Math.min(entry.done, Math.max(entry.size, 1)), { done: humanSize(entry.done) });
  }

  close(): void {
    this.multibar.stop();
  }
}

function outcomeText(kind: TransferKind, outcome: BlobWriteOutcome, options: ReporterOptions): string {
  const text = WORDS[kind].outcome[outcome];
  return outcome === 'mounted' && options.mountedFrom ? `${text} from ${options.mountedFrom}` : text;
}

/** Bars when `out` is a terminal, plain lines otherwise, nothing when quiet. */
export function createReporter(kind: TransferKind, out: NodeJS.WriteStream, options: ReporterOptions = {}): TransferReporter {
  if (options.quiet) return new SilentReporter();
  return out.isTTY ? new BarReporter(kind, out, options) : new LineReporter(kind, out, options);
}

/** A reader whose blob streams report the bytes that pass through them. */
export function reportingReader(reader: ContentReader, reporter: TransferReporter): ContentReader {
  return {
    label: reader.label,
    readManifest: (reference: string): Promise<ManifestContent | undefined> => reader.readManifest(reference),
    openBlob: async (descriptor: ContentDescriptor): Promise<Readable> => {
      const source = await reader.openBlob(descriptor);
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          reporter.progress(descriptor.digest, chunk.length);
          callback(null, chunk);
        },
      });
      source.once('error', (error) => counter.destroy(error));
      return source.pipe(counter);
    },
  };
}

export interface ByteProgress {
  add(bytes: number): void;
  close(): void;
}

/** One bar for a whole archive on a TTY (save, load); nothing otherwise. */
export function createByteProgress(label: string, total: number, out: NodeJS.WriteStream): ByteProgress {
  if (!out.isTTY || total <= 0) return { add: () => undefined, close: () => undefined };
  const bar = new cliProgress.SingleBar({
    stream: out,
    format: `${label} [{bar}] {done}/{total_size}`,
    barsize: 30,
    hideCursor: true,
    clearOnComplete: false,
    fps: 10,
  });
  let done = 0;
  bar.start(total, 0, { done: humanSize(0), total_size: humanSize(total) });
  return {
    add: (bytes) => {
      done += bytes;
      bar.update(Math.min(done, total), { done: humanSize(done) });
    },
    close: () => bar.stop(),
  };
}
