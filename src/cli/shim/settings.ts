// The effective settings of a shim config as `berth shim validate` prints them:
// every default filled in, registries in the order they are tried, secrets masked.
import { formatDuration } from '../../util/duration.js';
import type { RegistryAuth, ShimConfig } from '../../shim/config.js';

export const MASK = '******';

function maskAuth(auth: RegistryAuth | undefined): string {
  if (!auth) return 'anonymous';
  return `${auth.username}:${auth.password === '' ? '' : MASK}`;
}

export function effectiveSettings(config: ShimConfig, cri: string): Record<string, unknown> {
  return {
    shim: config.shimSocket,
    cri,
    force: config.force,
    debug: config.debug,
    timeout: formatDuration(config.timeoutMs),
    reloadInterval: formatDuration(config.reloadIntervalMs),
    fallback: config.fallback,
    metricsAddr: config.metricsAddr ?? 'off',
    probeTimeout: formatDuration(config.probeTimeoutMs),
    breaker: { failureThreshold: config.breaker.failureThreshold, resetTimeout: formatDuration(config.breaker.resetTimeoutMs) },
    cache: {
      imageCacheSize: config.cache.size === 0 ? 'off' : config.cache.size,
      imageCacheTTL: formatDuration(config.cache.ttlMs),
      negativeTTL: formatDuration(config.cache.negativeTtlMs),
      statsLogInterval: formatDuration(config.cache.statsLogIntervalMs),
      disableStats: config.cache.disableStats,
    },
    registries: config.registries.map((target) => ({
      address: target.address,
      from: target.kind === 'offline' ? 'address' : 'registries',
      host: target.host,
      pathPrefix: target.pathPrefix === '' ? 'none' : target.pathPrefix,
      transport: target.plainHttp ? 'http' : target.insecure ? 'https (certificate not verified)' : 'https',
      priority: target.priority,
      auth: maskAuth(target.auth),
      mirrors: target.mirrors ?? 'every source registry',
      prefixSourceRegistry: target.prefixSourceRegistry,
    })),
  };
}
