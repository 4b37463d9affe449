// Name resolution with an extra hosts table in /etc/hosts format, consulted before the
// system resolver. It lets a node (or a test) reach `sealos.hub` without editing
// /etc/hosts; the CLI builds the table from $BERTH_HOSTS_FILE.
import { lookup as systemLookup } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';

/** host name (lowercase) → its addresses, in file order. */
export type HostsTable = ReadonlyMap<string, readonly string[]>;

/** Parses `ADDRESS NAME [ALIAS...]` lines; `#` starts a comment; bad addresses are skipped. */
export function parseHostsFile(text: string): HostsTable {
  const table = new Map<string, string[]>();
  for (const raw of text.split('\n')) {
    const [address, ...names] = raw.replace(/#.*/, '').trim().split(/\s+/);
    if (!address || isIP(address) === 0) continue;
    for (const name of names) {
      const key = name.toLowerCase();
      const list = table.get(key) ?? [];
      if (!list.includes(address)) list.push(address);
      table.set(key, list);
    }
  }
  return table;
}

/** A `lookup` for net/http/https connections: the table first, then the system resolver. */
export function hostsLookup(table: HostsTable): LookupFunction {
  return (hostname, options, callback) => {
    const wanted = options.family === 4 || options.family === 6 ? options.family : 0;
    const found = (table.get(hostname.toLowerCase()) ?? []).map((address) => ({ address, family: isIP(address) })).filter((entry) => wanted === 0 || entry.family === wanted);
    if (found.length === 0) {
      systemLookup(hostname, options, callback);
      return;
    }
    if (options.all) callback(null, found);
    else callback(null, found[0]!.address, found[0]!.family);
  };
}

/** Every address `host` resolves to (the table first), or [] when it does not resolve. */
export function resolveAddresses(host: string, table: HostsTable): Promise<string[]> {
  if (isIP(host) !== 0) return Promise.resolve([host]);
  const listed = table.get(host.toLowerCase());
  if (listed && listed.length > 0) return Promise.resolve([...listed]);
  return new Promise((resolve) => {
    systemLookup(host, { all: true }, (error, addresses) => resolve(error ? [] : addresses.map((entry) => entry.address)));
  });
}
