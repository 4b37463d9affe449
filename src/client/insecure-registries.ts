// Which registries the user has declared insecure in the files other tools read, so
// Berth treats them like `--insecure` without a flag on every command:
// - containers' registries.conf (podman, skopeo, buildah, cri-o; sealos writes it on its
//   nodes): `[[registry]]` entries with `prefix`/`location` and `insecure`, or the v1
//   `[registries.insecure] registries = [...]` list;
// - docker's daemon.json `insecure-registries`: `host[:port]` names and CIDRs.
// Parsing and matching are pure; reading the files is the CLI's job.
import { BlockList, isIP } from 'node:net';
import { parse as parseToml } from 'smol-toml';

/** One `[[registry]]` entry: the name prefix it covers, and its insecure flag. */
export interface RegistriesConfEntry {
  readonly prefix: string;
  readonly insecure: boolean;
  readonly source: string;
}

export interface DaemonInsecure {
  /** `host[:port]` as written (docker compares the registry name exactly). */
  readonly hosts: readonly string[];
  readonly cidrs: readonly string[];
  readonly source: string;
}

export interface InsecureConfig {
  /** In load order: later files' entries replace earlier ones with the same prefix. */
  readonly registriesConf: readonly RegistriesConfEntry[];
  readonly daemon: readonly DaemonInsecure[];
}

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

export interface InsecureMatch {
  readonly source: string;
  /** What matched: the registries.conf prefix, the daemon.json name or CIDR. */
  readonly entry: string;
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A registries.conf file (v2 `[[registry]]` tables, or v1 `[registries.insecure]`). */
export function parseRegistriesConf(text: string, source: string): Parsed<RegistriesConfEntry[]> {
  let document: Record<string, unknown>;
  try {
    document = parseToml(text) as Record<string, unknown>;
  } catch (error) {
    return { ok: false, reason: `${source}: not valid TOML (${(error as Error).message.split('\n')[0]})` };
  }
  const entries: RegistriesConfEntry[] = [];
  const v1 = isTable(document['registries']) ? document['registries']['insecure'] : undefined;
  if (isTable(v1) && Array.isArray(v1['registries'])) {
    for (const name of v1['registries']) if (typeof name === 'string' && name !== '') entries.push({ prefix: name, insecure: true, source });
  }
  const registries = document['registry'];
  if (registries === undefined) return { ok: true, value: entries };
  if (!Array.isArray(registries)) return { ok: false, reason: `${source}: "registry" must be an array of tables ([[registry]])` };
  for (const [index, entry] of registries.entries()) {
    if (!isTable(entry)) return { ok: false, reason: `${source}: registry #${index + 1} is not a table` };
    const prefix = typeof entry['prefix'] === 'string' && entry['prefix'] !== '' ? entry['prefix'] : entry['location'];
    if (typeof prefix !== 'string' || prefix === '') return { ok: false, reason: `${source}: registry #${index + 1} has neither prefix nor location` };
    if (entry['insecure'] !== undefined && typeof entry['insecure'] !== 'boolean') return { ok: false, reason: `${source}: registry ${prefix}: insecure must be true or false` };
    entries.push({ prefix: prefix.replace(/\/+$/, ''), insecure: entry['insecure'] === true, source });
  }
  return { ok: true, value: entries };
}

/** docker's daemon.json; only `insecure-registries` matters here. */
export function parseDaemonJson(text: string, source: string): Parsed<DaemonInsecure> {
  if (text.trim() === '') return { ok: true, value: { hosts: [], cidrs: [], source } };
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    return { ok: false, reason: `${source}: not valid JSON` };
  }
  if (!isTable(document)) return { ok: false, reason: `${source}: not a JSON object` };
  const list = document['insecure-registries'] ?? [];
  if (!Array.isArray(list) || list.some((item) => typeof item !== 'string')) return { ok: false, reason: `${source}: "insecure-registries" must be a list of strings` };
  const hosts: string[] = [];
  const cidrs: string[] = [];
  for (const raw of list as string[]) {
    // dockerd drops an http:// or https:// prefix (with a warning) and refuses other schemes.
    const entry = raw.replace(/^https?:\/\//i, '');
    if (entry.includes('://') || entry === '') return { ok: false, reason: `${source}: insecure registry ${JSON.stringify(raw)} is not a host[:port] or a CIDR` };
    if (parseCidr(entry)) cidrs.push(entry);
    else hosts.push(entry);
  }
  return { ok: true, value: { hosts, cidrs, source } };
}

function parseCidr(text: string): { address: string; bits: number; family: 'ipv4' | 'ipv6' } | undefined {
  const match = /^(.+)\/(\d{1,3})$/.exec(text);
  if (!match) return undefined;
  const family = isIP(match[1]!);
  const bits = Number(match[2]);
  if (family === 0 || bits > (family === 4 ? 32 : 128)) return undefined;
  return { address: match[1]!, bits, family: family === 4 ? 'ipv4' : 'ipv6' };
}

/**
 * containers/image's prefix match: the name equals the prefix or continues with `/`, `:`
 * or `@` (so `sealos.hub` also covers `sealos.hub:5000`, as podman does); `*.example.com`
 * covers any subdomain of example.com. The number is the matched length (longest wins).
 */
function matchLength(name: string, prefix: string): number {
  if (prefix.startsWith('*.')) {
    const suffix = prefix.slice(1);
    const index = name.indexOf(suffix);
    if (index <= 0 || name.slice(0, index).includes('/')) return -1;
    const end = index + suffix.length;
    return end === name.length || ':/@'.includes(name[end]!) ? suffix.length : -1;
  }
  if (name === prefix) return prefix.length;
  return name.startsWith(prefix) && ':/@'.includes(name[prefix.length] ?? '') ? prefix.length : -1;
}

/** The registries.conf entry that governs `name` (`host[:port][/repository]`), as podman picks it. */
export function registriesConfEntryFor(entries: readonly RegistriesConfEntry[], name: string): RegistriesConfEntry | undefined {
  // Later files replace earlier entries with the same prefix.
  const byPrefix = new Map<string, RegistriesConfEntry>();
  for (const entry of entries) byPrefix.set(entry.prefix, entry);
  let best: RegistriesConfEntry | undefined;
  let bestLength = -1;
  for (const entry of byPrefix.values()) {
    const length = matchLength(name, entry.prefix);
    if (length > bestLength) {
      best = entry;
      bestLength = length;
    }
  }
  return best;
}

/** `host` of `host[:port]` / `[v6]:port`. */
export function hostOnly(registry: string): string {
  if (registry.startsWith('[')) return registry.slice(1, registry.indexOf(']'));
  return registry.split(':')[0]!;
}

/**
 * Where `name` (`host[:port]`, optionally followed by `/repository`) is declared
 * insecure, or undefined. `resolve` gives a host's addresses for daemon.json CIDRs
 * (docker resolves the name and checks every address).
 */
export async function findInsecure(config: InsecureConfig, name: string, resolve: (host: string) => Promise<readonly string[]>): Promise<InsecureMatch | undefined> {
  const entry = registriesConfEntryFor(config.registriesConf, name);
  if (entry?.insecure) return { source: entry.source, entry: entry.prefix };
  const registry = name.split('/')[0]!;
  for (const daemon of config.daemon) {
    if (daemon.hosts.includes(registry)) return { source: daemon.source, entry: registry };
  }
  const withCidrs = config.daemon.filter((daemon) => daemon.cidrs.length > 0);
  if (withCidrs.length === 0) return undefined;
  const addresses = await resolve(hostOnly(registry));
  for (const daemon of withCidrs) {
    for (const cidr of daemon.cidrs) {
      const parsed = parseCidr(cidr)!;
      const list = new BlockList();
      list.addSubnet(parsed.address, parsed.bits, parsed.family);
      const hit = addresses.find((address) => isIP(address) !== 0 && list.check(address, isIP(address) === 4 ? 'ipv4' : 'ipv6'));
      if (hit !== undefined) return { source: daemon.source, entry: `${cidr} (${hostOnly(registry)} is ${hit})` };
    }
  }
  return undefined;
}
