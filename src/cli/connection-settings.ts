// What this machine says about reaching registries, read once per process (this is
// composition-root code: the only place that reads these files and variables):
// - insecure registries from containers' registries.conf ($CONTAINERS_REGISTRIES_CONF,
//   default /etc/containers/registries.conf, plus the *.conf files in the
//   registries.conf.d directory next to it, in name order) and from docker's daemon.json
//   ($BERTH_DOCKER_DAEMON_JSON, default /etc/docker/daemon.json);
// - an extra hosts table ($BERTH_HOSTS_FILE, /etc/hosts format) for name resolution.
// Absent or unreadable files count as empty (docker's CLI cannot read a root-only
// daemon.json either); a file that is there but malformed is an error, as in podman.
// Where the files are: config-files.ts.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { LookupFunction } from 'node:net';
import { hostsLookup, parseHostsFile, resolveAddresses, type HostsTable } from '../client/hosts-file.js';
import { findInsecure, parseDaemonJson, parseRegistriesConf, type DaemonInsecure, type InsecureMatch, type RegistriesConfEntry } from '../client/insecure-registries.js';
import { CliError } from './cli-error.js';
import { configFiles, type ConfigFiles } from './config-files.js';

export interface ConnectionSettings {
  readonly files: ConfigFiles;
  readonly lookup: LookupFunction | undefined;
  /** Where `name` (`host[:port][/repository]`) is declared insecure, if anywhere. */
  insecureFor(name: string): Promise<InsecureMatch | undefined>;
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EACCES' || code === 'EISDIR') return undefined;
    throw error;
  }
}

async function loadRegistriesConf(files: ConfigFiles): Promise<RegistriesConfEntry[]> {
  const dropIns = (await readdir(files.registriesConfDir).catch(() => [] as string[])).filter((name) => name.endsWith('.conf')).sort();
  const entries: RegistriesConfEntry[] = [];
  for (const file of [files.registriesConf, ...dropIns.map((name) => path.join(files.registriesConfDir, name))]) {
    const text = await readOptional(file);
    if (text === undefined) continue;
    const parsed = parseRegistriesConf(text, file);
    if (!parsed.ok) throw new CliError(parsed.reason, `fix the file (see containers-registries.conf(5)), or point CONTAINERS_REGISTRIES_CONF elsewhere`);
    entries.push(...parsed.value);
  }
  return entries;
}

async function loadDaemonJson(files: ConfigFiles): Promise<DaemonInsecure[]> {
  const text = await readOptional(files.daemonJson);
  if (text === undefined) return [];
  const parsed = parseDaemonJson(text, files.daemonJson);
  if (!parsed.ok) throw new CliError(parsed.reason, 'fix the file, or point BERTH_DOCKER_DAEMON_JSON elsewhere');
  return [parsed.value];
}

async function loadHosts(files: ConfigFiles): Promise<HostsTable> {
  if (files.hostsFile === undefined) return new Map();
  const text = await readOptional(files.hostsFile);
  if (text === undefined) throw new CliError(`cannot read BERTH_HOSTS_FILE ${files.hostsFile}`, 'unset it, or point it at a file in /etc/hosts format');
  return parseHostsFile(text);
}

let loaded: Promise<ConnectionSettings> | undefined;

export function connectionSettings(): Promise<ConnectionSettings> {
  loaded ??= (async () => {
    const files = configFiles();
    const [registriesConf, daemon, hosts] = await Promise.all([loadRegistriesConf(files), loadDaemonJson(files), loadHosts(files)]);
    const config = { registriesConf, daemon };
    return {
      files,
      lookup: hosts.size > 0 ? hostsLookup(hosts) : undefined,
      insecureFor: (name) => findInsecure(config, name, (host) => resolveAddresses(host, hosts)),
    };
  })();
  return loaded;
}
