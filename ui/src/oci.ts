// Reading manifests and image configs in the browser: whatever the JSON holds is checked
// field by field and kept as plain strings and numbers, never trusted as markup.

export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly artifactType?: string;
  readonly platform?: Platform;
  readonly annotations: Readonly<Record<string, string>>;
}

interface Common {
  readonly mediaType: string;
  readonly artifactType?: string;
  readonly subject?: Descriptor;
  readonly annotations: Readonly<Record<string, string>>;
}

export type Manifest =
  | (Common & { readonly kind: 'image'; readonly config: Descriptor; readonly layers: readonly Descriptor[] })
  | (Common & { readonly kind: 'index'; readonly manifests: readonly Descriptor[] });

export interface ImageConfig {
  readonly created?: string;
  readonly platform?: string;
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  readonly env: readonly string[];
  readonly workingDir?: string;
  readonly user?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly exposedPorts: readonly string[];
  readonly history: ReadonlyArray<{ readonly created?: string; readonly createdBy?: string; readonly comment?: string; readonly emptyLayer: boolean }>;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []);

function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isObject(value)) return out;
  for (const [key, item] of Object.entries(value)) if (typeof item === 'string') out[key] = item;
  return out;
}

function platform(value: unknown): Platform | undefined {
  if (!isObject(value)) return undefined;
  const os = str(value['os']);
  const architecture = str(value['architecture']);
  if (os === undefined || architecture === undefined) return undefined;
  const variant = str(value['variant']);
  return variant ? { os, architecture, variant } : { os, architecture };
}

export function platformName(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter((part) => part !== undefined && part !== '').join('/');
}

function descriptor(value: unknown): Descriptor | undefined {
  if (!isObject(value)) return undefined;
  const mediaType = str(value['mediaType']) ?? '';
  const digest = str(value['digest']);
  const size = value['size'];
  if (digest === undefined || typeof size !== 'number') return undefined;
  const artifactType = str(value['artifactType']);
  const p = platform(value['platform']);
  return { mediaType, digest, size, annotations: stringMap(value['annotations']), ...(artifactType ? { artifactType } : {}), ...(p ? { platform: p } : {}) };
}

const descriptors = (value: unknown): Descriptor[] => (Array.isArray(value) ? value.map(descriptor).filter((d): d is Descriptor => d !== undefined) : []);

export function parseManifest(text: string): Manifest | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(value)) return undefined;
  const subject = descriptor(value['subject']);
  const artifactType = str(value['artifactType']);
  const common: Common = {
    mediaType: str(value['mediaType']) ?? '',
    annotations: stringMap(value['annotations']),
    ...(artifactType ? { artifactType } : {}),
    ...(subject ? { subject } : {}),
  };
  if (Array.isArray(value['manifests'])) return { ...common, kind: 'index', manifests: descriptors(value['manifests']) };
  const config = descriptor(value['config']);
  return config ? { ...common, kind: 'image', config, layers: descriptors(value['layers']) } : undefined;
}

export function readConfig(value: unknown): ImageConfig {
  const root = isObject(value) ? value : {};
  const config = isObject(root['config']) ? root['config'] : {};
  const p = platform(root);
  const created = str(root['created']);
  const workingDir = str(config['WorkingDir']);
  const user = str(config['User']);
  return {
    ...(created ? { created } : {}),
    ...(p ? { platform: platformName(p) } : {}),
    entrypoint: strings(config['Entrypoint']),
    cmd: strings(config['Cmd']),
    env: strings(config['Env']),
    ...(workingDir ? { workingDir } : {}),
    ...(user ? { user } : {}),
    labels: stringMap(config['Labels']),
    exposedPorts: isObject(config['ExposedPorts']) ? Object.keys(config['ExposedPorts']) : [],
    history: (Array.isArray(root['history']) ? root['history'] : []).filter(isObject).map((entry) => {
      const createdAt = str(entry['created']);
      const createdBy = str(entry['created_by']);
      const comment = str(entry['comment']);
      return {
        ...(createdAt ? { created: createdAt } : {}),
        ...(createdBy ? { createdBy } : {}),
        ...(comment ? { comment } : {}),
        emptyLayer: entry['empty_layer'] === true,
      };
    }),
  };
}

const MEDIA_TYPE_LABELS: Record<string, string> = {
  'application/vnd.oci.image.index.v1+json': 'OCI index',
  'application/vnd.oci.image.manifest.v1+json': 'OCI image',
  'application/vnd.docker.distribution.manifest.list.v2+json': 'Docker manifest list',
  'application/vnd.docker.distribution.manifest.v2+json': 'Docker image',
};

export function mediaTypeLabel(mediaType: string, artifactType?: string | null): string {
  if (artifactType) return `Artifact: ${artifactType}`;
  return MEDIA_TYPE_LABELS[mediaType] ?? mediaType;
}

export function isIndexType(mediaType: string): boolean {
  return mediaType === 'application/vnd.oci.image.index.v1+json' || mediaType === 'application/vnd.docker.distribution.manifest.list.v2+json';
}
