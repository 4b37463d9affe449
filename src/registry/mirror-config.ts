// Pull-through mirror settings: Berth's `mirrors:` list, and registry:2's `proxy:`
// section (one mirror of one upstream for the whole registry). Pure: the composition
// root reads auth files and CA files named here.
import { z } from 'zod';
import { isValidRepositoryName } from '../oci/names.js';
import { normaliseRegistryHost } from '../oci/reference.js';
import type { BreakerSettings } from '../util/breaker.js';
import { duration } from './config-values.js';

export interface UpstreamSettings {
  /** `https://host[:port]` or `http://host[:port]` (a bare host means https). */
  readonly url: string;
  readonly username: string | undefined;
  readonly password: string | undefined;
  /** A docker config.json or containers auth.json with credentials for the upstream's host. */
  readonly authFile: string | undefined;
  /** https without certificate verification. */
  readonly insecure: boolean;
  /** A PEM file of CAs to trust for the upstream. */
  readonly caFile: string | undefined;
  /** Connect + response headers: short, so a dead or hung upstream costs little. */
  readonly timeoutMs: number;
  /** Silence allowed while a body streams. */
  readonly readTimeoutMs: number;
  readonly breaker: BreakerSettings;
}

export interface MirrorSettings {
  /** The registry mirrored, normalised (`docker.io`); containerd's `?ns=` names it. */
  readonly source: string;
  /** The repository path prefix the mirror serves under (`docker.io`), '' for the whole registry. */
  readonly prefix: string;
  /** Tried in order; the first healthy one that answers wins. */
  readonly upstreams: readonly UpstreamSettings[];
  /** A cached tag is served without asking upstream for this long after the last check. */
  readonly tagTtlMs: number;
  /** Tags matching this (whole-tag) pattern are never re-checked once cached. */
  readonly immutableTags: string | undefined;
  /** Never contact an upstream: serve what is cached, and nothing else. */
  readonly offline: boolean;
  /** Accept pushes under the prefix (refused by default). */
  readonly allowPush: boolean;
  /** Content nobody pulled for this long is evicted; undefined: kept forever. */
  readonly retentionMs: number | undefined;
}

export const MIRROR_DEFAULTS = {
  timeoutMs: 5_000,
  readTimeoutMs: 60_000,
  breaker: { failureThreshold: 3, resetTimeoutMs: 30_000 },
  tagTtlMs: 10 * 60_000,
  /** registry:2's proxy keeps cached content for a week unless `ttl` says otherwise. */
  proxyTtlMs: 168 * 3_600_000,
} as const;

const breakerSchema = z.object({ failureThreshold: z.number().int().min(1).optional(), resetTimeout: duration.optional() }).strict();

const upstreamObjectSchema = z
  .object({
    url: z.string().min(1),
    username: z.string().optional(),
    password: z.string().optional(),
    authFile: z.string().optional(),
    insecure: z.boolean().optional(),
    caFile: z.string().optional(),
    timeout: duration.optional(),
    readTimeout: duration.optional(),
    breaker: breakerSchema.optional(),
  })
  .strict();

export const mirrorSchema = z
  .object({
    source: z.string().min(1),
    prefix: z.string().optional(),
    upstreams: z.array(z.union([z.string().min(1), upstreamObjectSchema])).min(1),
    tagTtl: duration.optional(),
    immutableTags: z.string().optional(),
    offline: z.boolean().optional(),
    allowPush: z.boolean().optional(),
    retention: duration.optional(),
    /** Defaults for every upstream of this mirror. */
    timeout: duration.optional(),
    readTimeout: duration.optional(),
    breaker: breakerSchema.optional(),
  })
  .strict();

type MirrorDocument = z.infer<typeof mirrorSchema>;
type UpstreamDocument = z.infer<typeof upstreamObjectSchema>;

export type MirrorsResult = { readonly ok: true; readonly mirrors: readonly MirrorSettings[] } | { readonly ok: false; readonly reason: string };

/** `https://host[:port]`: a scheme other than http(s), a path, a query or credentials in the URL are refused. */
function upstreamUrl(text: string): string | undefined {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return undefined;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') return undefined;
  if (url.pathname !== '/' && url.pathname !== '') return undefined;
  return `${url.protocol}//${url.host}`;
}

function sourceHost(text: string): string | undefined {
  const host = text.trim().replace(/^https?:\/\//i, '').replace(/\/+$/, '');
  return host === '' || /[/\s@?#]/.test(host) ? undefined : normaliseRegistryHost(host);
}

function buildUpstream(entry: string | UpstreamDocument, mirror: MirrorDocument, where: string): UpstreamSettings | string {
  const document: UpstreamDocument = typeof entry === 'string' ? { url: entry } : entry;
  const url = upstreamUrl(document.url);
  if (!url) return `${where}: ${JSON.stringify(document.url)} is not an upstream URL (use https://host[:port] or http://host[:port], without a path or credentials)`;
  if (document.authFile !== undefined && (document.username !== undefined || document.password !== undefined)) {
    return `${where}: give either authFile or username/password, not both`;
  }
  const breaker = { ...mirror.breaker, ...document.breaker };
  return {
    url,
    username: document.username,
    password: document.password,
    authFile: document.authFile,
    insecure: document.insecure ?? false,
    caFile: document.caFile,
    timeoutMs: document.timeout ?? mirror.timeout ?? MIRROR_DEFAULTS.timeoutMs,
    readTimeoutMs: document.readTimeout ?? mirror.readTimeout ?? MIRROR_DEFAULTS.readTimeoutMs,
    breaker: {
      failureThreshold: breaker.failureThreshold ?? MIRROR_DEFAULTS.breaker.failureThreshold,
      resetTimeoutMs: breaker.resetTimeout ?? MIRROR_DEFAULTS.breaker.resetTimeoutMs,
    },
  };
}

function buildMirror(document: MirrorDocument, index: number): MirrorSettings | string {
  const where = `mirrors[${index}]`;
  const source = sourceHost(document.source);
  if (!source) return `${where}.source: ${JSON.stringify(document.source)} is not a registry host (e.g. docker.io, registry.k8s.io)`;
  const prefix = (document.prefix ?? source).replace(/^\/+|\/+$/g, '');
  if (!isValidRepositoryName(prefix)) return `${where}.prefix: ${JSON.stringify(prefix)} is not a repository path (lower case, e.g. docker.io or mirror/docker.io)`;
  if (document.immutableTags !== undefined) {
    try {
      new RegExp(document.immutableTags);
    } catch (error) {
      return `${where}.immutableTags: not a regular expression: ${(error as Error).message}`;
    }
  }
  const upstreams: UpstreamSettings[] = [];
  for (const [i, entry] of document.upstreams.entries()) {
    const upstream = buildUpstream(entry, document, `${where}.upstreams[${i}]`);
    if (typeof upstream === 'string') return upstream;
    upstreams.push(upstream);
  }
  return {
    source,
    prefix,
    upstreams,
    tagTtlMs: document.tagTtl ?? MIRROR_DEFAULTS.tagTtlMs,
    immutableTags: document.immutableTags,
    offline: document.offline ?? false,
    allowPush: document.allowPush ?? false,
    retentionMs: document.retention === undefined || document.retention === 0 ? undefined : document.retention,
  };
}

/** One prefix inside another would make a repository belong to two mirrors. */
function overlap(mirrors: readonly MirrorSettings[]): string | undefined {
  for (const [i, a] of mirrors.entries()) {
    for (const [j, b] of mirrors.entries()) {
      if (i >= j) continue;
      if (a.source === b.source) return `mirrors[${j}]: ${b.source} is mirrored twice (mirrors[${i}] too); list every upstream in one entry`;
      if (a.prefix === b.prefix || b.prefix.startsWith(`${a.prefix}/`) || a.prefix.startsWith(`${b.prefix}/`)) {
        return `mirrors[${j}].prefix: ${b.prefix} overlaps mirrors[${i}].prefix ${a.prefix}`;
      }
    }
  }
  return undefined;
}

/** Berth's `mirrors:` list, checked and with defaults applied. */
export function buildMirrors(documents: readonly MirrorDocument[]): MirrorsResult {
  const mirrors: MirrorSettings[] = [];
  for (const [index, document] of documents.entries()) {
    const mirror = buildMirror(document, index);
    if (typeof mirror === 'string') return { ok: false, reason: mirror };
    mirrors.push(mirror);
  }
  const problem = overlap(mirrors);
  return problem ? { ok: false, reason: problem } : { ok: true, mirrors };
}

export const distributionProxySchema = z.object({
  remoteurl: z.string().min(1),
  username: z.string().optional(),
  password: z.string().optional(),
  ttl: duration.optional(),
});

/**
 * registry:2's `proxy:`: the whole registry mirrors `remoteurl`, as distribution's
 * pull-through cache does; pushes are refused. `ttl` becomes the retention (unused for
 * that long, where distribution counts from when it was cached; 0 keeps content forever).
 */
export function distributionProxyMirror(proxy: z.infer<typeof distributionProxySchema>): MirrorsResult {
  const url = upstreamUrl(proxy.remoteurl);
  if (!url) return { ok: false, reason: `proxy.remoteurl: ${JSON.stringify(proxy.remoteurl)} is not a registry URL (https://host[:port])` };
  const ttl = proxy.ttl ?? MIRROR_DEFAULTS.proxyTtlMs;
  const username = proxy.username === '' ? undefined : proxy.username;
  return {
    ok: true,
    mirrors: [
      {
        source: normaliseRegistryHost(new URL(url).host),
        prefix: '',
        upstreams: [
          {
            url,
            username,
            password: username === undefined ? undefined : proxy.password,
            authFile: undefined,
            insecure: false,
            caFile: undefined,
            timeoutMs: MIRROR_DEFAULTS.timeoutMs,
            readTimeoutMs: MIRROR_DEFAULTS.readTimeoutMs,
            breaker: MIRROR_DEFAULTS.breaker,
          },
        ],
        tagTtlMs: MIRROR_DEFAULTS.tagTtlMs,
        immutableTags: undefined,
        offline: false,
        allowPush: false,
        retentionMs: ttl === 0 ? undefined : ttl,
      },
    ],
  };
}
