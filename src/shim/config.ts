// /etc/image-cri-shim.yaml: every key of sealos' image-cri-shim with its documented
// defaults (as its code applies them, not as its docs say), plus Berth's extensions.
// Pure: the composition root reads the file; this turns its text into settings.
//
// Legacy normalisations kept on purpose, so existing files mean the same thing:
// `timeout` 0 → 15m, `reloadInterval` ≤ 0 → 15s, `offlinePriority` 0 → 1000 and
// `registries[].priority` 0 → 500 (both clamped to 0..10000 with a warning),
// `cache.imageCacheSize` 0 → 1024 and < 0 disables the cache, `imageCacheTTL` ≤ 0 →
// 30m, `statsLogInterval` ≤ 0 → 1m. A later registry with the same address replaces an
// earlier one. Fixed on purpose: `auth` is split on the FIRST colon, so a password may
// contain `:`.
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { resolveEndpoint } from '../client/endpoint.js';
import { isValidRepositoryName } from '../oci/names.js';
import { normaliseRegistryHost } from '../oci/reference.js';
import type { BreakerSettings } from '../util/breaker.js';
import { parseDuration } from '../util/duration.js';

export const DEFAULT_CONFIG_FILE = '/etc/image-cri-shim.yaml';
export const DEFAULT_SHIM_SOCKET = '/var/run/image-cri-shim.sock';

export const SHIM_DEFAULTS = {
  timeoutMs: 15 * 60_000,
  reloadIntervalMs: 15_000,
  offlinePriority: 1000,
  registryPriority: 500,
  maxPriority: 10_000,
  imageCacheSize: 1024,
  imageCacheTtlMs: 30 * 60_000,
  negativeTtlMs: 30_000,
  statsLogIntervalMs: 60_000,
  probeTimeoutMs: 2000,
  breakerFailureThreshold: 3,
  breakerResetTimeoutMs: 30_000,
} as const;

export interface RegistryAuth {
  readonly username: string;
  readonly password: string;
}

/** One registry the shim may send pulls to, derived from `address` or `registries[]`. */
export interface RegistryTarget {
  /** `host[/prefix]`: unique among targets. */
  readonly id: string;
  /** `offline` is the `address` registry. */
  readonly kind: 'offline' | 'registry';
  /** The address as configured (for messages). */
  readonly address: string;
  /** What RegistryClient takes: `http://host:port`, `https://host`, or a bare host. */
  readonly endpoint: string;
  /** The registry as it appears in image references (`sealos.hub:5000`, `docker.io`). */
  readonly host: string;
  /** Repository path prefix inside the registry (`project` of `harbor.example/project`), or ''. */
  readonly pathPrefix: string;
  readonly plainHttp: boolean;
  /** https without certificate verification. */
  readonly insecure: boolean;
  readonly auth: RegistryAuth | undefined;
  readonly priority: number;
  /** Source registries this one mirrors (normalised); undefined means every source. */
  readonly mirrors: readonly string[] | undefined;
  /** Keep the source registry as the first path component (`<target>/docker.io/library/nginx`). */
  readonly prefixSourceRegistry: boolean;
}

export interface CacheSettings {
  /** Entries; 0 means the cache is off. */
  readonly size: number;
  readonly ttlMs: number;
  /** How long a definite 404 is remembered. */
  readonly negativeTtlMs: number;
  readonly statsLogIntervalMs: number;
  readonly disableStats: boolean;
}

export type { BreakerSettings };

export interface ShimConfig {
  readonly shimSocket: string;
  /** undefined: auto-detect. */
  readonly criSocket: string | undefined;
  readonly force: boolean;
  readonly debug: boolean;
  /** Upper bound of a PullImage (with its fallback) when the caller set no deadline. */
  readonly timeoutMs: number;
  readonly reloadIntervalMs: number;
  readonly fallback: boolean;
  readonly metricsAddr: string | undefined;
  readonly probeTimeoutMs: number;
  readonly breaker: BreakerSettings;
  readonly cache: CacheSettings;
  /** In the order they are tried: priority descending, `address` first on a tie, then by id. */
  readonly registries: readonly RegistryTarget[];
}

export type ConfigParseResult = { readonly ok: true; readonly config: ShimConfig; readonly warnings: string[] } | { readonly ok: false; readonly error: string; readonly warnings: string[] };

const duration = z.union([z.string(), z.number()]);

const registrySchema = z.object({
  address: z.string().optional(),
  auth: z.string().optional(),
  priority: z.number().int().optional(),
  mirrors: z.array(z.string()).optional(),
  prefixSourceRegistry: z.boolean().optional(),
  insecure: z.boolean().optional(),
});

const cacheSchema = z.object({
  imageCacheSize: z.number().int().optional(),
  imageCacheTTL: duration.optional(),
  statsLogInterval: duration.optional(),
  disableStats: z.boolean().optional(),
  negativeTTL: duration.optional(),
});

const breakerSchema = z.object({
  failureThreshold: z.number().int().min(1).optional(),
  resetTimeout: duration.optional(),
});

const fileSchema = z.object({
  shim: z.string().optional(),
  cri: z.string().optional(),
  address: z.string().optional(),
  auth: z.string().optional(),
  force: z.boolean().optional(),
  debug: z.boolean().optional(),
  timeout: duration.optional(),
  reloadInterval: duration.optional(),
  offlinePriority: z.number().int().optional(),
  registries: z.array(registrySchema).optional(),
  cache: cacheSchema.optional(),
  fallback: z.boolean().optional(),
  metricsAddr: z.string().optional(),
  probeTimeout: duration.optional(),
  breaker: breakerSchema.optional(),
  prefixSourceRegistry: z.boolean().optional(),
  mirrors: z.array(z.string()).optional(),
  insecure: z.boolean().optional(),
});

type FileDocument = z.infer<typeof fileSchema>;

/** Keys sealos' shim accepted once and ignores now (`version: v1alpha2`, early-4.x `image`, `sync`). */
const LEGACY_IGNORED = { top: ['version', 'image', 'sync'], cache: ['domainCacheTTL'] } as const;

const KNOWN_KEYS = {
  top: Object.keys(fileSchema.shape),
  registry: Object.keys(registrySchema.shape),
  cache: Object.keys(cacheSchema.shape),
  breaker: Object.keys(breakerSchema.shape),
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** YAML `key:` with no value is null; it means "not set", as in the Go original. */
function dropNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropNulls);
  if (!isRecord(value)) return value;
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null).map(([k, v]) => [k, dropNulls(v)]));
}

function unknownKeyWarnings(document: Record<string, unknown>): string[] {
  const warnings: string[] = [];
  const check = (object: unknown, known: readonly string[], legacy: readonly string[], where: string): void => {
    if (!isRecord(object)) return;
    for (const key of Object.keys(object)) {
      if (known.includes(key)) continue;
      const name = `${where}${key}`;
      warnings.push(legacy.includes(key) ? `ignored legacy key ${name}` : `ignored unknown key ${name}`);
    }
  };
  check(document, KNOWN_KEYS.top, LEGACY_IGNORED.top, '');
  check(document['cache'], KNOWN_KEYS.cache, LEGACY_IGNORED.cache, 'cache.');
  check(document['breaker'], KNOWN_KEYS.breaker, [], 'breaker.');
  const registries = document['registries'];
  if (Array.isArray(registries)) registries.forEach((entry, index) => check(entry, KNOWN_KEYS.registry, [], `registries[${index}].`));
  return warnings;
}

/** `user:pass`, split on the first colon; empty means anonymous; `user` alone has no password. */
export function parseAuth(text: string | undefined): RegistryAuth | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const colon = text.indexOf(':');
  return colon < 0 ? { username: text, password: '' } : { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

class ConfigError extends Error {}

function durationMs(value: string | number | undefined, key: string, fallback: number, zeroMeansDefault = true): number {
  if (value === undefined) return fallback;
  const ms = parseDuration(value);
  if (ms === undefined) throw new ConfigError(`${key}: not a duration: ${JSON.stringify(value)} (use e.g. 2s, 15m, 1h30m)`);
  return ms <= 0 && zeroMeansDefault ? fallback : ms;
}

function priority(value: number | undefined, key: string, fallback: number, warnings: string[]): number {
  if (value === undefined || value === 0) return fallback;
  if (value < 0 || value > SHIM_DEFAULTS.maxPriority) {
    const clamped = Math.min(Math.max(value, 0), SHIM_DEFAULTS.maxPriority);
    warnings.push(`${key} ${value} is outside 0..${SHIM_DEFAULTS.maxPriority}; using ${clamped}`);
    return clamped;
  }
  return value;
}

function normaliseMirrors(list: readonly string[] | undefined, key: string): string[] | undefined {
  if (list === undefined) return undefined;
  return list.map((entry, index) => {
    const host = entry.trim().replace(/^https?:\/\//i, '').replace(/\/+$/, '');
    if (host === '' || host.includes('/')) throw new ConfigError(`${key}[${index}]: ${JSON.stringify(entry)} is not a registry host (e.g. docker.io, registry.k8s.io, quay.io)`);
    return normaliseRegistryHost(host);
  });
}

interface TargetInput {
  readonly kind: RegistryTarget['kind'];
  readonly key: string;
  readonly address: string;
  readonly auth: string | undefined;
  readonly priority: number;
  readonly mirrors: readonly string[] | undefined;
  readonly prefixSourceRegistry: boolean;
  readonly insecure: boolean;
}

function makeTarget(input: TargetInput): RegistryTarget {
  const address = input.address.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(address);
  if (scheme && !/^https?$/i.test(scheme[1]!)) throw new ConfigError(`${input.key}: unsupported scheme in ${JSON.stringify(address)} (use http:// or https://)`);
  const rest = scheme ? address.slice(scheme[0].length) : address;
  const slash = rest.indexOf('/');
  const rawHost = slash < 0 ? rest : rest.slice(0, slash);
  const pathPrefix = slash < 0 ? '' : rest.slice(slash + 1).replace(/^\/+|\/+$/g, '');
  if (rawHost === '' || /[\s@?#]/.test(rawHost)) throw new ConfigError(`${input.key}: ${JSON.stringify(address)} is not a registry address`);
  if (pathPrefix !== '' && !isValidRepositoryName(pathPrefix)) throw new ConfigError(`${input.key}: path prefix ${JSON.stringify(pathPrefix)} is not a valid repository path`);
  const endpoint = scheme ? `${scheme[1]!.toLowerCase()}://${rawHost}` : rawHost;
  const resolved = resolveEndpoint(endpoint);
  const host = normaliseRegistryHost(rawHost);
  return {
    id: pathPrefix === '' ? host : `${host}/${pathPrefix}`,
    kind: input.kind,
    address,
    endpoint,
    host,
    pathPrefix,
    plainHttp: resolved.baseUrl.protocol === 'http:',
    insecure: input.insecure,
    auth: parseAuth(input.auth),
    priority: input.priority,
    mirrors: normaliseMirrors(input.mirrors, `${input.key}.mirrors`),
    prefixSourceRegistry: input.prefixSourceRegistry,
  };
}

function buildTargets(d: FileDocument, warnings: string[]): RegistryTarget[] {
  const byId = new Map<string, RegistryTarget>();
  const prefixDefault = d.prefixSourceRegistry ?? false;
  if (d.address !== undefined && d.address.trim() !== '') {
    const target = makeTarget({
      kind: 'offline',
      key: 'address',
      address: d.address,
      auth: d.auth,
      priority: priority(d.offlinePriority, 'offlinePriority', SHIM_DEFAULTS.offlinePriority, warnings),
      mirrors: d.mirrors,
      prefixSourceRegistry: prefixDefault,
      insecure: d.insecure ?? false,
    });
    byId.set(target.id, target);
  }
  (d.registries ?? []).forEach((entry, index) => {
    const key = `registries[${index}]`;
    if (entry.address === undefined || entry.address.trim() === '') {
      warnings.push(`${key} has no address; skipped`);
      return;
    }
    const target = makeTarget({
      kind: 'registry',
      key,
      address: entry.address,
      auth: entry.auth,
      priority: priority(entry.priority, `${key}.priority`, SHIM_DEFAULTS.registryPriority, warnings),
      mirrors: entry.mirrors,
      prefixSourceRegistry: entry.prefixSourceRegistry ?? prefixDefault,
      insecure: entry.insecure ?? false,
    });
    if (byId.has(target.id)) warnings.push(`${key} (${target.id}) replaces an earlier entry for the same registry`);
    byId.set(target.id, target);
  });
  return [...byId.values()].sort(
    (a, b) => b.priority - a.priority || (a.kind === b.kind ? 0 : a.kind === 'offline' ? -1 : 1) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}

function build(d: FileDocument, warnings: string[]): ShimConfig {
  const registries = buildTargets(d, warnings);
  if (registries.length === 0) throw new ConfigError('address is empty: set address (the offline registry, e.g. http://sealos.hub:5000) or registries[]');
  const imageCacheSize = d.cache?.imageCacheSize;
  const metricsAddr = d.metricsAddr?.trim();
  return {
    shimSocket: d.shim?.trim() || DEFAULT_SHIM_SOCKET,
    criSocket: d.cri?.trim() || undefined,
    force: d.force ?? false,
    debug: d.debug ?? false,
    timeoutMs: durationMs(d.timeout, 'timeout', SHIM_DEFAULTS.timeoutMs),
    reloadIntervalMs: durationMs(d.reloadInterval, 'reloadInterval', SHIM_DEFAULTS.reloadIntervalMs),
    fallback: d.fallback ?? true,
    metricsAddr: metricsAddr ? metricsAddr : undefined,
    probeTimeoutMs: durationMs(d.probeTimeout, 'probeTimeout', SHIM_DEFAULTS.probeTimeoutMs),
    breaker: {
      failureThreshold: d.breaker?.failureThreshold ?? SHIM_DEFAULTS.breakerFailureThreshold,
      resetTimeoutMs: durationMs(d.breaker?.resetTimeout, 'breaker.resetTimeout', SHIM_DEFAULTS.breakerResetTimeoutMs),
    },
    cache: {
      size: imageCacheSize === undefined || imageCacheSize === 0 ? SHIM_DEFAULTS.imageCacheSize : imageCacheSize < 0 ? 0 : imageCacheSize,
      ttlMs: durationMs(d.cache?.imageCacheTTL, 'cache.imageCacheTTL', SHIM_DEFAULTS.imageCacheTtlMs),
      negativeTtlMs: durationMs(d.cache?.negativeTTL, 'cache.negativeTTL', SHIM_DEFAULTS.negativeTtlMs, false),
      statsLogIntervalMs: durationMs(d.cache?.statsLogInterval, 'cache.statsLogInterval', SHIM_DEFAULTS.statsLogIntervalMs),
      disableStats: d.cache?.disableStats ?? false,
    },
    registries,
  };
}

function formatIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`).join('; ');
}

/** Parses the text of an image-cri-shim.yaml. Never throws. */
export function parseShimConfig(text: string): ConfigParseResult {
  let document: unknown;
  try {
    document = dropNulls(parseYaml(text));
  } catch (error) {
    return { ok: false, error: `not valid YAML: ${(error as Error).message.split('\n')[0]}`, warnings: [] };
  }
  // An empty file (or only comments) is an empty mapping.
  if (document === undefined || document === null) document = {};
  if (!isRecord(document)) return { ok: false, error: 'the file must be a YAML mapping of keys to values', warnings: [] };
  const warnings = unknownKeyWarnings(document);
  const parsed = fileSchema.safeParse(document);
  if (!parsed.success) return { ok: false, error: formatIssues(parsed.error), warnings };
  try {
    return { ok: true, config: build(parsed.data, warnings), warnings };
  } catch (error) {
    if (error instanceof ConfigError) return { ok: false, error: error.message, warnings };
    throw error;
  }
}
