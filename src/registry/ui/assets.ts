// The UI's static bundle (built by `npm run build` from ui/ into dist/ui), held in memory:
// it is small, and serving it must not depend on the data directory or the storage
// driver. Each file is gzipped once at load time.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** Where the build puts the bundle, relative to this module once compiled (dist/src/registry/ui). */
export const UI_BUNDLE_DIR = fileURLToPath(new URL('../../../ui/', import.meta.url));

export interface UiAsset {
  readonly body: Buffer;
  readonly gzip: Buffer;
  readonly contentType: string;
  readonly etag: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

export type LoadedBundle = { readonly ok: true; readonly assets: UiAssets } | { readonly ok: false; readonly reason: string };

export class UiAssets {
  private constructor(
    readonly index: UiAsset,
    /** By file name under assets/ (hashed names, so they never change). */
    private readonly files: ReadonlyMap<string, UiAsset>,
  ) {}

  static async load(dir: string = UI_BUNDLE_DIR): Promise<LoadedBundle> {
    let indexBytes: Buffer;
    try {
      indexBytes = await readFile(path.join(dir, 'index.html'));
    } catch (error) {
      return { ok: false, reason: `no UI bundle at ${dir} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'}); run npm run build` };
    }
    const files = new Map<string, UiAsset>();
    const names = await readdir(path.join(dir, 'assets')).catch(() => [] as string[]);
    for (const name of names) {
      const type = CONTENT_TYPES[path.extname(name)];
      if (type === undefined) continue;
      files.set(name, asset(await readFile(path.join(dir, 'assets', name)), type));
    }
    return { ok: true, assets: new UiAssets(asset(indexBytes, CONTENT_TYPES['.html']!), files) };
  }

  file(name: string): UiAsset | undefined {
    return this.files.get(name);
  }
}

function asset(body: Buffer, contentType: string): UiAsset {
  return { body, gzip: gzipSync(body, { level: 9 }), contentType, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}
