// Loads an image archive into the store: stage and check everything, then commit.
// Which reader applies is decided by content, not by file name: an OCI layout
// (index.json) wins over docker's manifest.json when an archive has both.
import type { Readable } from 'node:stream';
import type { ImageStore } from '../store/image-store.js';
import { commitPlan, type ImportPlan, type PlannedImage } from './import-plan.js';
import { planLegacyImport } from './legacy-import.js';
import { planOciImport, type OciImportOptions } from './oci-import.js';
import { Staging } from './staging.js';

export type ArchiveFormat = 'oci' | 'docker';

export interface LoadResult {
  readonly format: ArchiveFormat;
  readonly images: PlannedImage[];
}

export async function loadArchive(store: ImageStore, input: Readable, label: string, options: OciImportOptions): Promise<LoadResult> {
  const staging = await Staging.create(store.blobs, label);
  try {
    await staging.extract(input);
    let plan: ImportPlan;
    let format: ArchiveFormat;
    if (staging.has('index.json')) {
      plan = await planOciImport(staging, options);
      format = 'oci';
    } else if (staging.has('manifest.json')) {
      plan = await planLegacyImport(staging, store.blobs);
      format = 'docker';
    } else {
      throw staging.corrupt('it has neither index.json (OCI layout) nor manifest.json (docker archive)');
    }
    await commitPlan(store, plan);
    return { format, images: plan.images };
  } finally {
    await staging.remove();
  }
}
