// Registry settings: Berth's own YAML keys, and registry:2's `config.yml` keys so an
// existing `registry serve /etc/registry/registry_config.yml` setup can be pointed at
// Berth unchanged. Pure: the composition root reads the file, the flags and the
// environment (S3 credentials may come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).
import { z } from 'zod';
import { accessControlSchema, buildPolicy } from './access/policy-config.js';
import type { PolicyDefinition } from './access/policy.js';
import { byteSize, duration, flag, formatIssue } from './config-values.js';
import { checkDistributionKeys } from './distribution-keys.js';
import { DEFAULT_GC_GRACE_MS } from '../storage/gc.js';
import { DEFAULT_LIMITS, DEFAULT_TIMEOUTS, type LimitSettings, type TimeoutSettings } from './limits.js';
import { buildMirrors, distributionProxyMirror, distributionProxySchema, mirrorSchema, type MirrorSettings } from './mirror-config.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Where an S3 bucket is and how to talk to it; credentials may also come from the environment. */
export interface S3Config {
  /** e.g. http://127.0.0.1:8333; undefined: AWS. */
  readonly endpoint: string | undefined;
  readonly region: string;
  readonly bucket: string;
  readonly rootDirectory: string;
  readonly forcePathStyle: boolean;
  readonly chunkSize: number;
  readonly accessKey: string | undefined;
  readonly secretKey: string | undefined;
  readonly sessionToken: string | undefined;
  /** Blob GETs answer 307 with a presigned URL (distribution's default for s3). */
  readonly redirect: { readonly enabled: boolean; readonly expiryMs: number };
  readonly skipVerify: boolean;
  /** A PEM file of CAs to trust for the endpoint. */
  readonly caBundle: string | undefined;
}

/**
 * Bearer token auth. `issue`: this registry is its own token server (`/token`), signing
 * with a key it keeps in the storage. `trust`: tokens come from an external issuer whose
 * keys are a root certificate bundle or a JWKS (registry:2's auth.token).
 */
export type TokenConfig =
  | {
      readonly mode: 'issue';
      /** The realm clients are sent to; undefined: `<scheme>://<Host>/token` of the request. */
      readonly realm: string | undefined;
      readonly service: string;
      readonly issuer: string;
      readonly lifetimeMs: number;
      readonly algorithm: 'ES256' | 'RS256';
    }
  | {
      readonly mode: 'trust';
      /** undefined with autoRedirect: `<scheme>://<Host><realmPath>` of the request. */
      readonly realm: string | undefined;
      readonly realmPath: string;
      readonly service: string;
      readonly issuer: string;
      /** A PEM file of root certificates. */
      readonly rootCertBundle: string | undefined;
      /** A JWKS file, or an https:// URL. */
      readonly jwks: string | undefined;
      readonly algorithms: readonly string[] | undefined;
    };

export const TOKEN_DEFAULTS = { service: 'berth-registry', issuer: 'berth', lifetimeMs: 5 * 60_000, algorithm: 'ES256' } as const;
/** The web UI at /ui/ (src/registry/ui). */
export interface UiConfig {
  readonly enabled: boolean;
  /** Users who may only look (no deletes, no GC) in the UI, whatever the policy grants them. */
  readonly readOnlyUsers: readonly string[];
  /** A UI session ends this long after sign-in. */
  readonly sessionTtlMs: number;
  /** A GC started from the UI keeps blobs and manifests used more recently than this. */
  readonly gcGraceMs: number;
}

export const UI_DEFAULTS: UiConfig = { enabled: true, readOnlyUsers: [], sessionTtlMs: 8 * 3_600_000, gcGraceMs: DEFAULT_GC_GRACE_MS };

export interface RegistryConfig {
  readonly addr: string;
  /** Worker processes behind the listening socket; undefined: one per CPU. */
  readonly workers: number | undefined;
  /** How long /readyz answers 503 at shutdown before the listener closes (load balancers drain). */
  readonly drainDelayMs: number;
  /** The filesystem driver's directory (holds docker/registry/v2); unused when `s3` is set. */
  readonly dataDir: string;
  /** The S3 driver's bucket; undefined: the filesystem at `dataDir`. */
  readonly s3: S3Config | undefined;
  readonly htpasswd: string | undefined;
  readonly realm: string;
  readonly logLevel: LogLevel;
  readonly deleteEnabled: boolean;
  /** Refuse every write (registry:2's storage.maintenance.readonly). */
  readonly readOnly: boolean;
  readonly allowSparseManifests: boolean;
  readonly authCacheTtlMs: number;
  readonly uploadPurgeEnabled: boolean;
  readonly uploadPurgeAgeMs: number;
  readonly uploadPurgeIntervalMs: number;
  readonly shutdownGraceMs: number;
  /** Signs upload state (registry:2's http.secret); undefined: one kept in the storage. */
  readonly httpSecret: string | undefined;
  /** How stale listings may get for writes made by other processes or replicas. */
  readonly listingMaxAgeMs: number;
  /** Extra response headers (registry:2's http.headers). */
  readonly headers: Readonly<Record<string, string>>;
  readonly tls:
    | { readonly cert: string; readonly key: string; readonly clientCa: string | undefined; readonly minVersion: 'TLSv1.2' | 'TLSv1.3' | undefined }
    | undefined;
  /** host:port of the /metrics, /livez, /readyz listener; undefined: off. */
  readonly metricsAddr: string | undefined;
  readonly limits: LimitSettings;
  readonly timeouts: TimeoutSettings;
  /** Who may do what (accessControl); undefined: every authenticated user may do everything. */
  readonly accessControl: PolicyDefinition | undefined;
  /** Bearer token auth; undefined: Basic only. */
  readonly token: TokenConfig | undefined;
  /** Pull-through mirrors (Berth's `mirrors:`, or registry:2's `proxy:`); [] for none. */
  readonly mirrors: readonly MirrorSettings[];
  readonly ui: UiConfig;
}

export const REGISTRY_DEFAULTS: Omit<RegistryConfig, 'dataDir'> = {
  addr: '127.0.0.1:5000',
  workers: undefined,
  drainDelayMs: 0,
  s3: undefined,
  htpasswd: undefined,
  realm: 'Registry Realm',
  logLevel: 'info',
  deleteEnabled: true,
  readOnly: false,
  allowSparseManifests: false,
  authCacheTtlMs: 60_000,
  uploadPurgeEnabled: true,
  uploadPurgeAgeMs: 168 * 3_600_000,
  uploadPurgeIntervalMs: 24 * 3_600_000,
  shutdownGraceMs: 30_000,
  httpSecret: undefined,
  listingMaxAgeMs: 1000,
  headers: {},
  tls: undefined,
  metricsAddr: undefined,
  limits: DEFAULT_LIMITS,
  timeouts: DEFAULT_TIMEOUTS,
  accessControl: undefined,
  token: undefined,
  mirrors: [],
  ui: UI_DEFAULTS,
};

const S3_DEFAULT_REGION = 'us-east-1';
const S3_DEFAULT_CHUNK = 10 * 1024 * 1024;
const S3_MIN_CHUNK = 5 * 1024 * 1024;
const S3_DEFAULT_REDIRECT_EXPIRY_MS = 20 * 60_000;

const berthS3Schema = z
  .object({
    endpoint: z.string().url().optional(),
    region: z.string().optional(),
    bucket: z.string().min(1),
    rootDirectory: z.string().optional(),
    forcePathStyle: z.boolean().optional(),
    chunkSize: byteSize.optional(),
    accessKey: z.string().optional(),
    secretKey: z.string().optional(),
    sessionToken: z.string().optional(),
    redirect: z.object({ enabled: z.boolean().optional(), expiry: duration.optional() }).strict().optional(),
    skipVerify: z.boolean().optional(),
    caBundle: z.string().optional(),
  })
  .strict();

const berthTokenSchema = z
  .object({
    issue: z.boolean().optional(),
    realm: z.string().url().optional(),
    service: z.string().min(1).optional(),
    issuer: z.string().min(1).optional(),
    expiration: duration.optional(),
    algorithm: z.enum(['ES256', 'RS256']).optional(),
    rootCertBundle: z.string().min(1).optional(),
    jwks: z.string().min(1).optional(),
    signingAlgorithms: z.array(z.string()).optional(),
  })
  .strict();

const distributionTokenSchema = z.object({
  realm: z.string().optional(),
  service: z.string().optional(),
  issuer: z.string().optional(),
  rootcertbundle: z.string().optional(),
  jwks: z.string().optional(),
  autoredirect: flag.optional(),
  autoredirectpath: z.string().optional(),
  signingalgorithms: z.array(z.string()).optional(),
});

type TokenResult = { ok: true; token: TokenConfig } | { ok: false; reason: string };

function berthToken(t: z.infer<typeof berthTokenSchema>): TokenResult {
  const external = t.rootCertBundle !== undefined || t.jwks !== undefined;
  if (t.issue === true) {
    if (external) return { ok: false, reason: 'token: issue: true (Berth signs its own tokens) excludes rootCertBundle and jwks (an external issuer)' };
    if (t.signingAlgorithms !== undefined) return { ok: false, reason: 'token.signingAlgorithms is for an external issuer; use token.algorithm' };
    return {
      ok: true,
      token: {
        mode: 'issue',
        realm: t.realm,
        service: t.service ?? TOKEN_DEFAULTS.service,
        issuer: t.issuer ?? TOKEN_DEFAULTS.issuer,
        lifetimeMs: t.expiration ?? TOKEN_DEFAULTS.lifetimeMs,
        algorithm: t.algorithm ?? TOKEN_DEFAULTS.algorithm,
      },
    };
  }
  if (!external) return { ok: false, reason: 'token: set issue: true (Berth issues tokens), or rootCertBundle or jwks (trust an external issuer)' };
  if (t.expiration !== undefined || t.algorithm !== undefined) return { ok: false, reason: 'token.expiration and token.algorithm apply only with issue: true' };
  if (t.realm === undefined || t.service === undefined || t.issuer === undefined) return { ok: false, reason: 'token: an external issuer needs realm, service and issuer' };
  return { ok: true, token: { mode: 'trust', realm: t.realm, realmPath: '/token', service: t.service, issuer: t.issuer, rootCertBundle: t.rootCertBundle, jwks: t.jwks, algorithms: t.signingAlgorithms } };
}

function distributionToken(t: z.infer<typeof distributionTokenSchema>): TokenResult {
  const autoRedirect = t.autoredirect === true;
  if ((t.realm === undefined && !autoRedirect) || t.service === undefined || t.issuer === undefined) {
    return { ok: false, reason: 'auth.token needs realm, service and issuer' };
  }
  if (t.rootcertbundle === undefined && t.jwks === undefined) return { ok: false, reason: 'auth.token needs rootcertbundle or jwks' };
  return {
    ok: true,
    token: {
      mode: 'trust',
      realm: autoRedirect ? undefined : t.realm,
      realmPath: t.autoredirectpath ?? '/auth/token',
      service: t.service,
      issuer: t.issuer,
      rootCertBundle: t.rootcertbundle,
      jwks: t.jwks,
      algorithms: t.signingalgorithms,
    },
  };
}

type PolicyConfigResult = { ok: true; policy: PolicyDefinition | undefined } | { ok: false; reason: string };

function readPolicy(document: unknown): PolicyConfigResult {
  if (document === undefined) return { ok: true, policy: undefined };
  const parsed = accessControlSchema.safeParse(document);
  if (!parsed.success) return { ok: false, reason: formatIssue(parsed.error, 'accessControl') };
  const built = buildPolicy(parsed.data);
  return built.ok ? { ok: true, policy: built.policy } : built;
}

const berthFileSchema = z
  .object({
    addr: z.string().optional(),
    workers: z.number().int().min(1).max(256).optional(),
    drainDelay: duration.optional(),
    dataDir: z.string().optional(),
    storage: z.object({ s3: berthS3Schema.optional() }).strict().optional(),
    htpasswd: z.string().optional(),
    realm: z.string().optional(),
    logLevel: z.enum(LOG_LEVELS).optional(),
    deleteEnabled: z.boolean().optional(),
    readOnly: z.boolean().optional(),
    allowSparseManifests: z.boolean().optional(),
    authCacheTtl: duration.optional(),
    uploadPurgeAge: duration.optional(),
    uploadPurgeInterval: duration.optional(),
    shutdownGrace: duration.optional(),
    httpSecret: z.string().min(16).optional(),
    listingMaxAge: duration.optional(),
    headers: z.record(z.string(), z.string()).optional(),
    tls: z.object({ cert: z.string(), key: z.string(), clientCa: z.string().optional(), minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).optional() }).strict().optional(),
    metricsAddr: z.string().optional(),
    limits: z
      .object({
        maxUploadsPerClient: z.number().int().positive().optional(),
        maxAuthFailures: z.number().int().positive().optional(),
        authFailureWindow: duration.optional(),
        authBlock: duration.optional(),
      })
      .strict()
      .optional(),
    timeouts: z.object({ headers: duration.optional(), idle: duration.optional(), keepAlive: duration.optional() }).strict().optional(),
    accessControl: z.unknown().optional(),
    token: berthTokenSchema.optional(),
    mirrors: z.array(mirrorSchema).optional(),
    ui: z
      .object({
        enabled: z.boolean().optional(),
        readOnlyUsers: z.array(z.string().min(1)).optional(),
        sessionTtl: duration.refine((ms) => ms > 0, 'a session must last longer than 0').optional(),
        gcGrace: duration.optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

const distributionS3Schema = z.object({
  accesskey: z.string().optional(),
  secretkey: z.string().optional(),
  sessiontoken: z.string().optional(),
  region: z.string().optional(),
  regionendpoint: z.string().optional(),
  forcepathstyle: flag.optional(),
  bucket: z.string().min(1),
  secure: flag.optional(),
  skipverify: flag.optional(),
  v4auth: flag.optional(),
  chunksize: byteSize.optional(),
  rootdirectory: z.string().optional(),
  multipartcopythresholdsize: byteSize.optional(),
  encrypt: flag.optional(),
  keyid: z.string().optional(),
  storageclass: z.string().optional(),
  objectacl: z.string().optional(),
  usedualstack: flag.optional(),
  accelerate: flag.optional(),
});

const distributionFileSchema = z.object({
  version: z.union([z.string(), z.number()]),
  log: z.object({ level: z.string().optional() }).optional(),
  http: z
    .object({
      addr: z.string().optional(),
      net: z.string().optional(),
      prefix: z.string().optional(),
      secret: z.string().optional(),
      draintimeout: duration.optional(),
      headers: z.record(z.string(), z.union([z.string(), z.array(z.string())])).optional(),
      tls: z
        .object({
          certificate: z.string().optional(),
          key: z.string().optional(),
          clientcas: z.array(z.string()).optional(),
          minimumtls: z.string().optional(),
        })
        .optional(),
      debug: z.object({ addr: z.string().optional(), prometheus: z.object({ enabled: z.boolean().optional(), path: z.string().optional() }).optional() }).optional(),
    })
    .optional(),
  storage: z
    .object({
      filesystem: z.object({ rootdirectory: z.string().optional() }).optional(),
      s3: distributionS3Schema.optional(),
      delete: z.object({ enabled: z.boolean().optional() }).optional(),
      redirect: z.object({ disable: flag.optional() }).optional(),
      maintenance: z
        .object({
          uploadpurging: z.object({ enabled: z.boolean().optional(), age: duration.optional(), interval: duration.optional(), dryrun: z.boolean().optional() }).optional(),
          readonly: z.object({ enabled: z.boolean().optional() }).optional(),
        })
        .optional(),
    })
    .optional(),
  auth: z
    .object({ htpasswd: z.object({ realm: z.string().optional(), path: z.string().optional() }).optional(), token: distributionTokenSchema.optional() })
    .optional(),
  accessControl: z.unknown().optional(),
  proxy: distributionProxySchema.optional(),
});

export type ConfigFileResult =
  | { readonly ok: true; readonly values: Partial<RegistryConfig>; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly reason: string };

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

type S3Result = { ok: true; s3: S3Config } | { ok: false; reason: string };

function checkChunkSize(size: number | undefined, key: string): string | undefined {
  return size !== undefined && size < S3_MIN_CHUNK ? `${key}: ${size} is below the 5 MiB minimum of S3 multipart uploads` : undefined;
}

/** registry:2's storage.s3, with the values Berth cannot honour refused by name. */
function distributionS3(s3: z.infer<typeof distributionS3Schema>, redirectDisabled: boolean | undefined): S3Result {
  const refuse = (reason: string): S3Result => ({ ok: false, reason });
  if (s3.v4auth === false) return refuse('storage.s3.v4auth: false asks for signature version 2, which Berth does not speak');
  if (s3.encrypt === true || s3.keyid !== undefined) return refuse('storage.s3.encrypt / keyid: server-side encryption is not implemented; data would be stored unencrypted');
  if (s3.storageclass !== undefined && s3.storageclass.toUpperCase() !== 'STANDARD') return refuse(`storage.s3.storageclass: ${s3.storageclass} is not implemented (only STANDARD)`);
  if (s3.objectacl !== undefined && s3.objectacl !== 'private') return refuse(`storage.s3.objectacl: ${s3.objectacl} is not implemented (objects are private)`);
  if (s3.usedualstack === true || s3.accelerate === true) return refuse('storage.s3.usedualstack / accelerate: these AWS endpoints are not implemented');
  const chunkProblem = checkChunkSize(s3.chunksize, 'storage.s3.chunksize');
  if (chunkProblem) return refuse(chunkProblem);
  const region = s3.region ?? S3_DEFAULT_REGION;
  let endpoint = s3.regionendpoint;
  if (endpoint !== undefined && endpoint !== '' && !/^https?:\/\//i.test(endpoint)) endpoint = `${s3.secure === false ? 'http' : 'https'}://${endpoint}`;
  if ((endpoint === undefined || endpoint === '') && s3.secure === false) endpoint = `http://s3.${region}.amazonaws.com`;
  return {
    ok: true,
    s3: {
      endpoint: endpoint === '' ? undefined : endpoint,
      region,
      bucket: s3.bucket,
      rootDirectory: s3.rootdirectory ?? '',
      forcePathStyle: s3.forcepathstyle ?? false,
      chunkSize: s3.chunksize ?? S3_DEFAULT_CHUNK,
      accessKey: s3.accesskey === '' ? undefined : s3.accesskey,
      secretKey: s3.secretkey === '' ? undefined : s3.secretkey,
      sessionToken: s3.sessiontoken === '' ? undefined : s3.sessiontoken,
      // registry:2 redirects blob GETs to S3 unless storage.redirect.disable is true.
      redirect: { enabled: redirectDisabled !== true, expiryMs: S3_DEFAULT_REDIRECT_EXPIRY_MS },
      skipVerify: s3.skipverify ?? false,
      caBundle: undefined,
    },
  };
}

function berthS3(s3: z.infer<typeof berthS3Schema>): S3Result {
  const chunkProblem = checkChunkSize(s3.chunkSize, 'storage.s3.chunkSize');
  if (chunkProblem) return { ok: false, reason: chunkProblem };
  return {
    ok: true,
    s3: {
      endpoint: s3.endpoint,
      region: s3.region ?? S3_DEFAULT_REGION,
      bucket: s3.bucket,
      rootDirectory: s3.rootDirectory ?? '',
      forcePathStyle: s3.forcePathStyle ?? true,
      chunkSize: s3.chunkSize ?? S3_DEFAULT_CHUNK,
      accessKey: s3.accessKey,
      secretKey: s3.secretKey,
      sessionToken: s3.sessionToken,
      redirect: { enabled: s3.redirect?.enabled ?? false, expiryMs: s3.redirect?.expiry ?? S3_DEFAULT_REDIRECT_EXPIRY_MS },
      skipVerify: s3.skipVerify ?? false,
      caBundle: s3.caBundle,
    },
  };
}

function minimumTls(value: string | undefined): 'TLSv1.2' | 'TLSv1.3' | undefined | false {
  if (value === undefined || value === 'tls1.0' || value === 'tls1.1' || value === 'tls1.2') return value === undefined ? undefined : 'TLSv1.2';
  return value === 'tls1.3' ? 'TLSv1.3' : false;
}

/** Reads a parsed YAML document as either a Berth config or a registry:2 config. */
export function readRegistryConfigDocument(document: unknown): ConfigFileResult {
  if (document === null || document === undefined) return { ok: true, values: {}, warnings: [] };
  if (typeof document === 'object' && 'version' in document) return readDistributionConfig(document);
  const parsed = berthFileSchema.safeParse(document);
  if (!parsed.success) return { ok: false, reason: formatIssue(parsed.error) };
  const b = parsed.data;
  let s3: S3Config | undefined;
  if (b.storage?.s3) {
    const result = berthS3(b.storage.s3);
    if (!result.ok) return result;
    s3 = result.s3;
  }
  const policy = readPolicy(b.accessControl);
  if (!policy.ok) return policy;
  const token = b.token ? berthToken(b.token) : undefined;
  if (token && !token.ok) return token;
  const mirrors = b.mirrors ? buildMirrors(b.mirrors) : undefined;
  if (mirrors && !mirrors.ok) return mirrors;
  return {
    ok: true,
    warnings: [],
    values: dropUndefined({
      addr: b.addr,
      workers: b.workers,
      drainDelayMs: b.drainDelay,
      dataDir: b.dataDir,
      s3,
      htpasswd: b.htpasswd,
      realm: b.realm,
      logLevel: b.logLevel,
      deleteEnabled: b.deleteEnabled,
      readOnly: b.readOnly,
      allowSparseManifests: b.allowSparseManifests,
      authCacheTtlMs: b.authCacheTtl,
      uploadPurgeAgeMs: b.uploadPurgeAge,
      uploadPurgeIntervalMs: b.uploadPurgeInterval,
      shutdownGraceMs: b.shutdownGrace,
      httpSecret: b.httpSecret,
      listingMaxAgeMs: b.listingMaxAge,
      headers: b.headers,
      tls: b.tls ? { cert: b.tls.cert, key: b.tls.key, clientCa: b.tls.clientCa, minVersion: b.tls.minVersion } : undefined,
      metricsAddr: b.metricsAddr,
      accessControl: policy.policy,
      token: token?.token,
      limits: b.limits
        ? {
            ...DEFAULT_LIMITS,
            ...dropUndefined({
              maxUploadsPerClient: b.limits.maxUploadsPerClient,
              maxAuthFailures: b.limits.maxAuthFailures,
              authFailureWindowMs: b.limits.authFailureWindow,
              authBlockMs: b.limits.authBlock,
            }),
          }
        : undefined,
      timeouts: b.timeouts
        ? { ...DEFAULT_TIMEOUTS, ...dropUndefined({ headersTimeoutMs: b.timeouts.headers, idleTimeoutMs: b.timeouts.idle, keepAliveTimeoutMs: b.timeouts.keepAlive }) }
        : undefined,
      mirrors: mirrors?.mirrors,
      ui: b.ui
        ? { ...UI_DEFAULTS, ...dropUndefined({ enabled: b.ui.enabled, readOnlyUsers: b.ui.readOnlyUsers, sessionTtlMs: b.ui.sessionTtl, gcGraceMs: b.ui.gcGrace }) }
        : undefined,
    }),
  };
}

function readDistributionConfig(document: object): ConfigFileResult {
  const keys = checkDistributionKeys(document);
  if (keys.refused) return { ok: false, reason: keys.refused };
  const parsed = distributionFileSchema.safeParse(document);
  if (!parsed.success) return { ok: false, reason: formatIssue(parsed.error) };
  const d = parsed.data;
  const level = d.log?.level === 'warning' ? 'warn' : d.log?.level;
  if (level !== undefined && !(LOG_LEVELS as readonly string[]).includes(level)) {
    return { ok: false, reason: `log.level: unknown level ${JSON.stringify(level)}` };
  }
  if (d.http?.net !== undefined && d.http.net !== 'tcp') return { ok: false, reason: `http.net: ${d.http.net} is not implemented (only tcp)` };
  if (d.http?.prefix !== undefined && d.http.prefix !== '' && d.http.prefix !== '/') {
    return { ok: false, reason: `http.prefix: serving under ${d.http.prefix} is not implemented (only /)` };
  }
  const policy = readPolicy(d.accessControl);
  if (!policy.ok) return policy;
  if (d.auth?.token && d.auth.htpasswd) return { ok: false, reason: 'auth: registry:2 takes one method; give auth.htpasswd or auth.token, not both' };
  const token = d.auth?.token ? distributionToken(d.auth.token) : undefined;
  if (token && !token.ok) return token;
  const storage = d.storage;
  if (storage?.filesystem && storage.s3) return { ok: false, reason: 'storage: both filesystem and s3 are configured; choose one' };
  let s3: S3Config | undefined;
  if (storage?.s3) {
    const result = distributionS3(storage.s3, storage.redirect?.disable);
    if (!result.ok) return result;
    s3 = result.s3;
  }
  const tls = d.http?.tls;
  if (tls && (tls.certificate === undefined) !== (tls.key === undefined)) return { ok: false, reason: 'http.tls needs both certificate and key' };
  const minVersion = minimumTls(tls?.minimumtls);
  if (minVersion === false) return { ok: false, reason: `http.tls.minimumtls: unknown version ${JSON.stringify(tls?.minimumtls)}` };
  const debug = d.http?.debug;
  if (debug?.prometheus?.path !== undefined && debug.prometheus.path !== '/metrics') {
    return { ok: false, reason: `http.debug.prometheus.path: only /metrics is served (not ${debug.prometheus.path})` };
  }
  const debugAddr = debug?.prometheus?.enabled ? debug.addr : undefined;
  const proxy = d.proxy ? distributionProxyMirror(d.proxy) : undefined;
  if (proxy && !proxy.ok) return proxy;
  const purging = storage?.maintenance?.uploadpurging;
  const headers = d.http?.headers
    ? Object.fromEntries(Object.entries(d.http.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : value]))
    : undefined;
  return {
    ok: true,
    warnings: keys.ignored.map((key) => `config key ${key} has no effect in Berth`),
    values: dropUndefined({
      addr: allInterfaces(d.http?.addr),
      tls: tls?.certificate && tls.key ? { cert: tls.certificate, key: tls.key, clientCa: tls.clientcas?.[0], minVersion: minVersion === undefined ? undefined : minVersion } : undefined,
      metricsAddr: allInterfaces(debugAddr),
      dataDir: storage?.filesystem?.rootdirectory,
      s3,
      deleteEnabled: storage?.delete?.enabled,
      readOnly: storage?.maintenance?.readonly?.enabled,
      // A dry run only logs what it would remove: with it, Berth removes nothing either.
      uploadPurgeEnabled: purging?.enabled === false || purging?.dryrun === true ? false : undefined,
      uploadPurgeAgeMs: purging?.age,
      uploadPurgeIntervalMs: purging?.interval,
      httpSecret: d.http?.secret,
      shutdownGraceMs: d.http?.draintimeout,
      headers,
      htpasswd: d.auth?.htpasswd?.path,
      realm: d.auth?.htpasswd?.realm,
      accessControl: policy.policy,
      token: token?.token,
      logLevel: level as LogLevel | undefined,
      mirrors: proxy?.mirrors,
    }),
  };
}

/** registry:2 writes `:5000` for all interfaces. */
function allInterfaces(addr: string | undefined): string | undefined {
  return addr?.startsWith(':') ? `0.0.0.0${addr}` : addr;
}

/** Splits `host:port`, `[v6]:port` or `:port` (all interfaces). */
export function parseListenAddress(addr: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(addr.trim());
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port > 65535) return undefined;
  const host = match[1] ?? (match[2] === '' || match[2] === undefined ? '0.0.0.0' : match[2]);
  return { host, port };
}
