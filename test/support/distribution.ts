// Debian's docker-registry (CNCF distribution 2.8), the reference server, started on
// 127.0.0.1 with its data in distribution's layout under `dataDir`.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort, basicAuth } from './net.js';
import { run, startProcess, stopProcess, waitFor } from './process.js';
import { scratchDir } from './tmp.js';
import { tool } from './tools.js';
import type { TestRegistry } from './berth.js';

export interface DistributionOptions {
  /** The directory that holds docker/registry/v2 (rootdirectory). */
  readonly dataDir?: string;
  readonly user?: string;
  readonly password?: string;
  readonly bcryptCost?: number;
  readonly accessLog?: boolean;
  readonly port?: number;
  /** Extra top-level YAML appended to config.yml (an `auth: token:` section, say). */
  readonly extraConfig?: string;
  /**
   * Replaces the filesystem storage section (e.g. `storage:\n  s3: ...`). Debian's
   * docker-registry panics in its S3 driver when AWS_CA_BUNDLE is set, so it is unset
   * for the process.
   */
  readonly storageYaml?: string;
  /** Serve HTTPS with this certificate and key; `ca` verifies it during the readiness wait. */
  readonly tls?: { readonly certificate: string; readonly key: string; readonly ca: string };
}

/** GET /v2/ over HTTPS trusting `ca` (fetch cannot take a CA): the status, or an error. */
async function httpsStatus(url: string, ca: string): Promise<number> {
  const https = await import('node:https');
  const caPem = await readFile(ca);
  return new Promise((resolve, reject) => {
    const request = https.get(url, { ca: caPem }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.once('error', reject);
  });
}

export async function startDistribution(options: DistributionOptions = {}): Promise<TestRegistry & { readonly configFile: string }> {
  const work = await scratchDir('distribution-');
  const dataDir = options.dataDir ?? path.join(work, 'storage');
  await mkdir(dataDir, { recursive: true });
  const port = options.port ?? (await freePort());
  let auth = '';
  if (options.user !== undefined && options.password !== undefined) {
    const htpasswd = path.join(work, 'htpasswd');
    await run(tool('htpasswd'), ['-Bbc', '-C', String(options.bcryptCost ?? 5), htpasswd, options.user, options.password]);
    auth = `auth:\n  htpasswd:\n    realm: basic-realm\n    path: ${htpasswd}\n`;
  }
  const config = path.join(work, 'config.yml');
  await writeFile(
    config,
    `version: 0.1
log:
  level: info
  accesslog:
    disabled: ${options.accessLog ? 'false' : 'true'}
${options.storageYaml ?? `storage:\n  filesystem:\n    rootdirectory: ${dataDir}\n`}  delete:
    enabled: true
http:
  addr: 127.0.0.1:${port}
  secret: test-${port}
${options.tls ? `  tls:\n    certificate: ${options.tls.certificate}\n    key: ${options.tls.key}\n` : ''}${auth}${options.extraConfig ?? ''}`,
  );
  const logFile = path.join(work, 'registry.log');
  const { openSync } = await import('node:fs');
  const out = openSync(logFile, 'a');
  const env = { ...process.env };
  delete env['AWS_CA_BUNDLE'];
  const child = startProcess(tool('docker-registry'), ['serve', config], { stdio: ['ignore', out, out], env });
  const host = `127.0.0.1:${port}`;
  await waitFor(`docker-registry on ${host}`, async () => {
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${await readFile(logFile, 'utf8')}`);
    if (options.tls) return (await httpsStatus(`https://${host}/v2/`, options.tls.ca)) > 0 ? true : undefined;
    const headers: Record<string, string> = options.user ? { authorization: basicAuth(options.user, options.password ?? '') } : {};
    const response = await fetch(`http://${host}/v2/`, { headers });
    return response.status === 200 || response.status === 401 ? true : undefined;
  });
  return {
    host,
    url: `${options.tls ? 'https' : 'http'}://${host}`,
    configFile: config,
    dataDir,
    logFile,
    user: options.user,
    password: options.password,
    stop: () => stopProcess(child),
    logs: () => readFile(logFile, 'utf8'),
  };
}
