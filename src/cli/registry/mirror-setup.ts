// Turns the mirror settings of a registry config into running mirrors: the files they
// name (auth files with upstream credentials, CA bundles) are read here, in the
// composition root. A file that cannot be read, or an auth file without credentials
// for the upstream, stops the start with one line naming it.
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { AuthFileError, lookupCredentials, readAuthFile } from '../../client/auth-file.js';
import type { Credentials } from '../../client/credentials.js';
import type { MirrorMetrics } from '../../mirror/metrics.js';
import type { Mirror } from '../../mirror/mirror-storage.js';
import { Upstream } from '../../mirror/upstream.js';
import { UpstreamPool } from '../../mirror/upstream-pool.js';
import type { MirrorSettings, UpstreamSettings } from '../../registry/mirror-config.js';
import { CliError } from '../cli-error.js';
import { BERTH_VERSION } from '../version.js';

async function credentialsFor(upstream: UpstreamSettings): Promise<Credentials | undefined> {
  if (upstream.authFile === undefined) {
    return upstream.username !== undefined || upstream.password !== undefined ? { username: upstream.username ?? '', password: upstream.password ?? '' } : undefined;
  }
  let file;
  try {
    file = await readAuthFile(upstream.authFile);
  } catch (error) {
    throw new CliError(`cannot read the auth file ${upstream.authFile} of upstream ${upstream.url}: ${error instanceof AuthFileError ? error.message : (error as Error).message}`);
  }
  const found = lookupCredentials(file, new URL(upstream.url).host);
  if (!found) throw new CliError(`the auth file ${upstream.authFile} has no credentials for ${new URL(upstream.url).host}`, `add them with: berth login --authfile ${upstream.authFile} ${new URL(upstream.url).host}`);
  return found;
}

async function caFor(upstream: UpstreamSettings): Promise<Buffer | undefined> {
  if (upstream.caFile === undefined) return undefined;
  try {
    return await readFile(upstream.caFile);
  } catch (error) {
    throw new CliError(`cannot read the CA file ${upstream.caFile} of upstream ${upstream.url}: ${(error as Error).message}`);
  }
}

export async function setUpMirrors(settings: readonly MirrorSettings[], metrics: MirrorMetrics, log: Logger): Promise<Mirror[]> {
  const mirrors: Mirror[] = [];
  for (const mirror of settings) {
    const upstreams: Upstream[] = [];
    for (const upstream of mirror.upstreams) {
      upstreams.push(
        new Upstream({
          settings: upstream,
          credentials: await credentialsFor(upstream),
          ca: await caFor(upstream),
          userAgent: `berth/${BERTH_VERSION}`,
          onBreakerChange: (open) => {
            metrics.breakerOpen.set({ upstream: upstream.url }, open ? 1 : 0);
            if (open) log.warn({ source: mirror.source, upstream: upstream.url, for: upstream.breaker.resetTimeoutMs }, 'mirror upstream skipped after repeated failures');
            else log.info({ source: mirror.source, upstream: upstream.url }, 'mirror upstream answers again');
          },
        }),
      );
    }
    mirrors.push({ settings: mirror, pool: new UpstreamPool(mirror.source, upstreams, metrics, log) });
  }
  return mirrors;
}
