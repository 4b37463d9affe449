// Registry settings: Berth's own YAML keys, and registry:2's `config.yml` keys so an
// existing `registry serve /etc/registry/registry_config.yml` setup can be pointed at
// Berth unchanged. Pure: the composition root reads the file and the flags.
import { z } from 'zod';
import { parseDuration } from '../util/duration.js';
import { DEFAULT_LIMITS, DEFAULT_TIMEOUTS, type LimitSettings, type TimeoutSettings } from './limits.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface RegistryConfig {
  readonly addr: string;
  readonly dataDir: string;
  readonly htpasswd: string | undefined;
  readonly realm: string;
  readonly logLevel: LogLevel;
  readonly deleteEnabled: boolean;
  readonly allowSparseManifests: boolean;
  readonly authCacheTtlMs: number;
  readonly uploadPurgeAgeMs: number;
  readonly uploadPurgeIntervalMs: number;
  readonly shutdownGraceMs: number;
  readonly tls: { readonly cert: string; readonly key: string; readonly clientCa: string | undefined } | undefined;
  /** host:port of the /metrics, /livez, /readyz listener; undefined: off. */
  readonly metricsAddr: string | undefined;
  readonly limits: LimitSettings;
  readonly timeouts: TimeoutSettings;
}

export const REGISTRY_DEFAULTS: Omit<RegistryConfig, 'dataDir'> = {
  addr: '127.0.0.1:5000',
  htpasswd: undefined,
  realm: 'Registry Realm',
  logLevel: 'info',
  deleteEnabled: true,
  allowSparseManifests: false,
  authCacheTtlMs: 60_000,
  uploadPurgeAgeMs: 168 * 3_600_000,
  uploadPurgeIntervalMs: 24 * 3_600_000,
  shutdownGraceMs: 30_000,
  tls: undefined,
  metricsAddr: undefined,
  limits: DEFAULT_LIMITS,
  timeouts: DEFAULT_TIMEOUTS,
};

const duration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `not a duration: ${JSON.stringify(value)} (use e.g. 30s, 15m, 168h)` });
    return z.NEVER;
  }
  return ms;
});

const berthFileSchema = z
  .object({
    addr: z.string().optional(),
    dataDir: z.string().optional(),
    htpasswd: z.string().optional(),
    realm: z.string().optional(),
    logLevel: z.enum(LOG_LEVELS).optional(),
    deleteEnabled: z.boolean().optional(),
    allowSparseManifests: z.boolean().optional(),
    authCacheTtl: duration.optional(),
    uploadPurgeAge: duration.optional(),
    uploadPurgeInterval: duration.optional(),
    shutdownGrace: duration.optional(),
    tls: z.object({ cert: z.string(), key: z.string(), clientCa: z.string().optional() }).strict().optional(),
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
  })
  .strict();

const distributionFileSchema = z.object({
  version: z.union([z.string(), z.number()]),
  log: z.object({ level: z.string().optional() }).optional(),
  http: z
    .object({
      addr: z.string().optional(),
      tls: z.object({ certificate: z.string().optional(), key: z.string().optional(), clientcas: z.array(z.string()).optional() }).optional(),
      debug: z.object({ addr: z.string().optional(), prometheus: z.object({ enabled: z.boolean().optional() }).optional() }).optional(),
    })
    .optional(),
  storage: z
    .object({
      filesystem: z.object({ rootdirectory: z.string().optional() }).optional(),
      delete: z.object({ enabled: z.boolean().optional() }).optional(),
      maintenance: z
        .object({ uploadpurging: z.object({ age: duration.optional(), interval: duration.optional() }).optional() })
        .optional(),
    })
    .optional(),
  auth: z.object({ htpasswd: z.object({ realm: z.string().optional(), path: z.string().optional() }).optional() }).optional(),
});

export type ConfigFileResult = { ok: true; values: Partial<RegistryConfig> } | { ok: false; reason: string };

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Reads a parsed YAML document as either a Berth config or a registry:2 config. */
export function readRegistryConfigDocument(document: unknown): ConfigFileResult {
  if (document === null || document === undefined) return { ok: true, values: {} };
  if (typeof document === 'object' && 'version' in document) {
    const parsed = distributionFileSchema.safeParse(document);
    if (!parsed.success) return { ok: false, reason: formatIssue(parsed.error) };
    const d = parsed.data;
    const level = d.log?.level === 'warning' ? 'warn' : d.log?.level;
    if (level !== undefined && !(LOG_LEVELS as readonly string[]).includes(level)) {
      return { ok: false, reason: `log.level: unknown level ${JSON.stringify(level)}` };
    }
    const addr = d.http?.addr;
    const tls = d.http?.tls;
    if (tls && (tls.certificate === undefined) !== (tls.key === undefined)) return { ok: false, reason: 'http.tls needs both certificate and key' };
    const debugAddr = d.http?.debug?.prometheus?.enabled ? d.http.debug.addr : undefined;
    return {
      ok: true,
      values: dropUndefined({
        addr: allInterfaces(addr),
        tls: tls?.certificate && tls.key ? { cert: tls.certificate, key: tls.key, clientCa: tls.clientcas?.[0] } : undefined,
        metricsAddr: allInterfaces(debugAddr),
        dataDir: d.storage?.filesystem?.rootdirectory,
        deleteEnabled: d.storage?.delete?.enabled,
        uploadPurgeAgeMs: d.storage?.maintenance?.uploadpurging?.age,
        uploadPurgeIntervalMs: d.storage?.maintenance?.uploadpurging?.interval,
        htpasswd: d.auth?.htpasswd?.path,
        realm: d.auth?.htpasswd?.realm,
        logLevel: level as LogLevel | undefined,
      }),
    };
  }
  const parsed = berthFileSchema.safeParse(document);
  if (!parsed.success) return { ok: false, reason: formatIssue(parsed.error) };
  const b = parsed.data;
  return {
    ok: true,
    values: dropUndefined({
      addr: b.addr,
      dataDir: b.dataDir,
      htpasswd: b.htpasswd,
      realm: b.realm,
      logLevel: b.logLevel,
      deleteEnabled: b.deleteEnabled,
      allowSparseManifests: b.allowSparseManifests,
      authCacheTtlMs: b.authCacheTtl,
      uploadPurgeAgeMs: b.uploadPurgeAge,
      uploadPurgeIntervalMs: b.uploadPurgeInterval,
      shutdownGraceMs: b.shutdownGrace,
      tls: b.tls ? { cert: b.tls.cert, key: b.tls.key, clientCa: b.tls.clientCa } : undefined,
      metricsAddr: b.metricsAddr,
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
    }),
  };
}

/** registry:2 writes `:5000` for all interfaces. */
function allInterfaces(addr: string | undefined): string | undefined {
  return addr?.startsWith(':') ? `0.0.0.0${addr}` : addr;
}

function formatIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid configuration';
  const where = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  return `${where}${issue.message}`;
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
