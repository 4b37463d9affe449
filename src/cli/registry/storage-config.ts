// Reading a registry's config file and turning "where the data lives" into a storage
// location, for `registry serve` and for the commands that work on the storage directly
// (gc, fsck): a data directory, or an S3 bucket with credentials from the config file or
// the environment. Part of the composition root: it reads files and the environment.
import { mkdir, readFile, realpath } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { readRegistryConfigDocument, type RegistryConfig, type S3Config } from '../../registry/config.js';
import type { S3Settings } from '../../storage/driver/s3-client.js';
import type { StorageLocation } from '../../storage/open.js';
import { CliError } from '../cli-error.js';

export interface ConfigFile {
  readonly values: Partial<RegistryConfig>;
  readonly warnings: readonly string[];
}

/** A Berth config or a registry:2 config.yml; a one-line error for anything unreadable. */
export async function readConfigFile(file: string): Promise<ConfigFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read config ${file}: ${(error as Error).message}`);
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new CliError(`config ${file} is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  const result = readRegistryConfigDocument(document);
  if (!result.ok) throw new CliError(`config ${file}: ${result.reason}`);
  return { values: result.values, warnings: result.warnings };
}

/** S3 credentials from the config file, else from the environment, as registry:2 takes them. */
export function withEnvironmentCredentials(s3: S3Config, env: NodeJS.ProcessEnv = process.env): S3Config {
  return {
    ...s3,
    accessKey: s3.accessKey ?? env['AWS_ACCESS_KEY_ID'],
    secretKey: s3.secretKey ?? env['AWS_SECRET_ACCESS_KEY'],
    sessionToken: s3.sessionToken ?? (s3.accessKey === undefined ? env['AWS_SESSION_TOKEN'] : undefined),
  };
}

/**
 * Where the config puts the data: S3 settings complete with credentials, or the data
 * directory (created when `create`, else it must exist).
 */
export async function storageLocation(config: Pick<RegistryConfig, 'dataDir' | 's3'>, options: { create: boolean }): Promise<StorageLocation> {
  if (!config.s3) {
    if (options.create) await mkdir(config.dataDir, { recursive: true });
    try {
      return { kind: 'filesystem', root: await realpath(config.dataDir) };
    } catch (error) {
      throw new CliError(`cannot open data directory ${config.dataDir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  const s3 = config.s3;
  if (s3.accessKey === undefined || s3.secretKey === undefined) {
    throw new CliError(`no S3 credentials for the bucket ${s3.bucket}`, 'set storage.s3 accesskey and secretkey in the config, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
  }
  let caBundle: Buffer | undefined;
  if (s3.caBundle !== undefined) {
    try {
      caBundle = await readFile(s3.caBundle);
    } catch (error) {
      throw new CliError(`cannot read the S3 CA bundle ${s3.caBundle}: ${(error as Error).message}`);
    }
  }
  // The AWS SDK warns on Node.js 20 about its releases after January 2027; Berth pins its
  // version, so the notice does not apply (and would break one-line output).
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  const settings: S3Settings = {
    endpoint: s3.endpoint,
    region: s3.region,
    bucket: s3.bucket,
    rootDirectory: s3.rootDirectory,
    forcePathStyle: s3.forcePathStyle,
    accessKeyId: s3.accessKey,
    secretAccessKey: s3.secretKey,
    sessionToken: s3.sessionToken,
    chunkSize: s3.chunkSize,
    redirectExpiryMs: s3.redirect.enabled ? s3.redirect.expiryMs : undefined,
    skipVerify: s3.skipVerify,
    caBundle,
  };
  return { kind: 's3', settings };
}

/**
 * The storage an admin command (gc, fsck) works on: `--data-dir`, or the storage named by
 * `--config` (a data directory or a bucket), or the default data directory.
 */
export async function adminStorageLocation(flags: { readonly dataDir?: string; readonly config?: string }, defaultDir: string | undefined): Promise<StorageLocation> {
  if (flags.dataDir !== undefined && flags.config !== undefined) throw new CliError('--data-dir and --config both name a storage', 'give one of them');
  if (flags.config !== undefined) {
    const { values } = await readConfigFile(flags.config);
    if (values.s3) return storageLocation({ dataDir: '', s3: withEnvironmentCredentials(values.s3) }, { create: false });
    if (!values.dataDir) throw new CliError(`config ${flags.config} names no storage`, 'registry:2 configs need storage.filesystem.rootdirectory or storage.s3');
    return storageLocation({ dataDir: values.dataDir, s3: undefined }, { create: false });
  }
  const dir = flags.dataDir ?? defaultDir;
  if (dir === undefined) throw new CliError('no data directory given', 'pass --data-dir DIR, or --config with the registry config.yml');
  return storageLocation({ dataDir: dir, s3: undefined }, { create: false });
}
