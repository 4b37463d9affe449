// Manifest parsing for the four media types a registry serves. Pure: bytes in, a
// typed result out, so the registry, the client and the shim agree on what is valid.
import { z } from 'zod';
import { digestOf, parseDigest } from './digest.js';
import { MEDIA_TYPE, isManifestMediaType, type ManifestMediaType } from './media-types.js';

const platformSchema = z.object({
  architecture: z.string(),
  os: z.string(),
  'os.version': z.string().optional(),
  'os.features': z.array(z.string()).optional(),
  variant: z.string().optional(),
  features: z.array(z.string()).optional(),
});

const descriptorSchema = z.object({
  mediaType: z.string().min(1),
  digest: z.string(),
  size: z.number().int().nonnegative(),
  urls: z.array(z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  data: z.string().optional(),
  artifactType: z.string().optional(),
  platform: platformSchema.optional(),
});

const imageSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  config: descriptorSchema,
  layers: z.array(descriptorSchema),
  subject: descriptorSchema.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

const indexSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  manifests: z.array(descriptorSchema),
  subject: descriptorSchema.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

export type Platform = z.infer<typeof platformSchema>;
export type Descriptor = z.infer<typeof descriptorSchema>;

interface ManifestCommon {
  readonly mediaType: ManifestMediaType;
  readonly artifactType?: string;
  readonly subject?: Descriptor;
  readonly annotations?: Record<string, string>;
}

export interface ImageManifest extends ManifestCommon {
  readonly kind: 'image';
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
}

export interface IndexManifest extends ManifestCommon {
  readonly kind: 'index';
  readonly manifests: readonly Descriptor[];
}

export type Manifest = ImageManifest | IndexManifest;

export type ManifestParseResult =
  | { readonly ok: true; readonly manifest: Manifest }
  | { readonly ok: false; readonly reason: string };

/** Content types that say nothing about the manifest kind; the body decides. */
const GENERIC_CONTENT_TYPES = new Set(['', 'application/json', 'application/octet-stream']);

/**
 * Parses manifest bytes. `contentType` is the PUT's Content-Type, or undefined when
 * the stored bytes are re-read (then the body alone decides the media type).
 */
export function parseManifest(body: Uint8Array, contentType?: string): ManifestParseResult {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch {
    return { ok: false, reason: 'manifest is not valid JSON' };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { ok: false, reason: 'manifest is not a JSON object' };
  }
  const fields = json as Record<string, unknown>;
  if (fields['schemaVersion'] === 1) {
    return { ok: false, reason: 'schema1 manifests are not supported; push a schema2 or OCI manifest' };
  }
  const declared = typeof fields['mediaType'] === 'string' ? fields['mediaType'] : undefined;
  const header = normaliseContentType(contentType);
  const mediaType = resolveMediaType(header, declared, fields);
  if (!mediaType.ok) return mediaType;

  const isIndex = mediaType.value === MEDIA_TYPE.ociIndex || mediaType.value === MEDIA_TYPE.dockerManifestList;
  const parsed = isIndex ? indexSchema.safeParse(json) : imageSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
    return { ok: false, reason: `invalid ${mediaType.value}${where}: ${issue?.message ?? 'schema mismatch'}` };
  }
  const common = {
    mediaType: mediaType.value,
    artifactType: parsed.data.artifactType,
    subject: parsed.data.subject,
    annotations: parsed.data.annotations,
  };
  const manifest: Manifest =
    'manifests' in parsed.data
      ? { kind: 'index', ...common, manifests: parsed.data.manifests }
      : { kind: 'image', ...common, config: parsed.data.config, layers: parsed.data.layers };
  const badDescriptor = findInvalidDescriptor(manifest);
  if (badDescriptor) return { ok: false, reason: badDescriptor };
  return { ok: true, manifest };
}

function normaliseContentType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

function resolveMediaType(
  header: string,
  declared: string | undefined,
  fields: Record<string, unknown>,
): { ok: true; value: ManifestMediaType } | { ok: false; reason: string } {
  if (declared !== undefined && !isManifestMediaType(declared)) {
    return { ok: false, reason: `unsupported manifest mediaType ${JSON.stringify(declared)}` };
  }
  if (!GENERIC_CONTENT_TYPES.has(header)) {
    if (!isManifestMediaType(header)) {
      return { ok: false, reason: `unsupported manifest Content-Type ${JSON.stringify(header)}` };
    }
    if (declared !== undefined && declared !== header) {
      return { ok: false, reason: `mediaType ${declared} does not match Content-Type ${header}` };
    }
    return { ok: true, value: header };
  }
  if (declared !== undefined) return { ok: true, value: declared };
  // OCI manifests may omit mediaType; the shape tells an index from an image.
  if (Array.isArray(fields['manifests'])) return { ok: true, value: MEDIA_TYPE.ociIndex };
  if (typeof fields['config'] === 'object') return { ok: true, value: MEDIA_TYPE.ociManifest };
  return { ok: false, reason: 'cannot tell the manifest media type: no mediaType, config or manifests' };
}

/** Every descriptor the manifest names, with the role it plays. */
export function manifestReferences(manifest: Manifest): Array<{ role: 'config' | 'layer' | 'manifest'; descriptor: Descriptor }> {
  if (manifest.kind === 'index') return manifest.manifests.map((descriptor) => ({ role: 'manifest' as const, descriptor }));
  return [
    { role: 'config' as const, descriptor: manifest.config },
    ...manifest.layers.map((descriptor) => ({ role: 'layer' as const, descriptor })),
  ];
}

function findInvalidDescriptor(manifest: Manifest): string | undefined {
  const all = [...manifestReferences(manifest).map((r) => r.descriptor), ...(manifest.subject ? [manifest.subject] : [])];
  for (const descriptor of all) {
    const digest = parseDigest(descriptor.digest);
    if (!digest) return `invalid digest ${JSON.stringify(descriptor.digest)} in descriptor`;
    if (descriptor.data !== undefined) {
      const data = Buffer.from(descriptor.data, 'base64');
      if (data.toString('base64') !== descriptor.data.replace(/\s/g, '')) return `descriptor ${descriptor.digest} has invalid base64 data`;
      if (data.length !== descriptor.size) return `descriptor ${descriptor.digest} data length ${data.length} does not match size ${descriptor.size}`;
      if (digestOf(data, digest.algorithm).value !== digest.value) return `descriptor ${descriptor.digest} data does not match its digest`;
    }
  }
  return undefined;
}

/** The artifact type the referrers API reports: artifactType, else the config media type. */
export function effectiveArtifactType(manifest: Manifest): string | undefined {
  if (manifest.artifactType) return manifest.artifactType;
  return manifest.kind === 'image' ? manifest.config.mediaType : undefined;
}
