// Insecure registries from registries.conf and daemon.json (parsing and podman's and
// docker's matching rules), the hosts table, and the transport `berth login` records in
// the auth file without disturbing what other tools read there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recordedTransport, setCredentials, setRecordedTransport, withoutRecordedTransports, type AuthFile } from '../../src/client/auth-file.js';
import { hostsLookup, parseHostsFile, resolveAddresses } from '../../src/client/hosts-file.js';
import { findInsecure, parseDaemonJson, parseRegistriesConf, registriesConfEntryFor, type InsecureConfig } from '../../src/client/insecure-registries.js';

function entries(text: string, source = 'registries.conf'): ReturnType<typeof parseRegistriesConf> & { ok: true } {
  const parsed = parseRegistriesConf(text, source);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
  return parsed;
}

const noResolve = (): Promise<string[]> => Promise.reject(new Error('no resolution expected'));

test('registries.conf v2: location or prefix, insecure flag, longest prefix wins, podman\'s ":" quirk, wildcards', () => {
  const { value } = entries(`
unqualified-search-registries = ["docker.io"]
[[registry]]
location = "sealos.hub:5000"
insecure = true

[[registry]]
prefix = "harbor.example/project"
location = "harbor.example/project"
insecure = true

[[registry]]
location = "harbor.example/project/secure"

[[registry]]
location = "plain.example"
insecure = true

[[registry]]
prefix = "*.corp.example"
location = "mirror.corp.example"
insecure = true
`);
  const insecure = (name: string): boolean => registriesConfEntryFor(value, name)?.insecure === true;
  assert.equal(insecure('sealos.hub:5000'), true);
  assert.equal(insecure('sealos.hub:5000/library/nginx'), true);
  assert.equal(insecure('sealos.hub:5001'), false);
  assert.equal(insecure('sealos.hub'), false);
  assert.equal(insecure('harbor.example'), false, 'a prefix longer than the host does not cover the registry as a whole');
  assert.equal(insecure('harbor.example/project/app'), true);
  assert.equal(insecure('harbor.example/project/secure/app'), false, 'a longer entry without insecure wins');
  assert.equal(insecure('harbor.example/projectx/app'), false);
  assert.equal(insecure('plain.example:5000'), true, 'a host entry also covers host:port, as in podman');
  assert.equal(insecure('a.corp.example:443/x'), true);
  assert.equal(insecure('corp.example'), false);
  assert.equal(insecure('evilcorp.example'), false);
});

test('registries.conf: v1 [registries.insecure], drop-ins replace the same prefix, errors name the file', () => {
  const v1 = entries(`[registries.insecure]\nregistries = ['sealos.hub:5000', '10.0.0.5:5000']\n`).value;
  assert.deepEqual(v1.map((e) => [e.prefix, e.insecure]), [['sealos.hub:5000', true], ['10.0.0.5:5000', true]]);
  const main = entries(`[[registry]]\nlocation = "sealos.hub:5000"\ninsecure = true\n`, 'main.conf').value;
  const dropIn = entries(`[[registry]]\nlocation = "sealos.hub:5000"\ninsecure = false\n`, 'registries.conf.d/99.conf').value;
  assert.equal(registriesConfEntryFor([...main, ...dropIn], 'sealos.hub:5000')?.insecure, false);
  assert.equal(registriesConfEntryFor([...dropIn, ...main], 'sealos.hub:5000')?.source, 'main.conf');

  for (const [text, reason] of [
    ['[[registry]\nlocation = 1', /bad\.conf: not valid TOML/],
    ['registry = "x"', /"registry" must be an array of tables/],
    ['[[registry]]\ninsecure = true', /neither prefix nor location/],
    ['[[registry]]\nlocation = "a"\ninsecure = "yes"', /insecure must be true or false/],
  ] as const) {
    const parsed = parseRegistriesConf(text, 'bad.conf');
    assert.equal(parsed.ok, false, text);
    if (!parsed.ok) assert.match(parsed.reason, reason);
  }
  assert.deepEqual(entries('').value, []);
});

test('daemon.json: host names compare exactly, CIDRs against every address the name resolves to', async () => {
  const parsed = parseDaemonJson(JSON.stringify({ 'insecure-registries': ['sealos.hub:5000', 'http://plain.example', '10.0.0.0/8', 'fd00::/8'], debug: true }), '/etc/docker/daemon.json');
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.value.hosts, ['sealos.hub:5000', 'plain.example']);
  assert.deepEqual(parsed.value.cidrs, ['10.0.0.0/8', 'fd00::/8']);
  const config: InsecureConfig = { registriesConf: [], daemon: [parsed.value] };
  const addresses: Record<string, string[]> = { 'sealos.hub': ['192.168.1.30'], 'node.lan': ['192.168.1.7', '10.1.2.3'], 'v6.lan': ['fd00::5'] };
  const resolve = (host: string): Promise<string[]> => Promise.resolve(addresses[host] ?? (host.includes(':') || /^\d/.test(host) ? [host] : []));
  assert.deepEqual(await findInsecure(config, 'sealos.hub:5000', noResolve), { source: '/etc/docker/daemon.json', entry: 'sealos.hub:5000' });
  assert.equal(await findInsecure(config, 'sealos.hub:5001', resolve), undefined, 'docker compares host:port exactly');
  assert.equal((await findInsecure(config, 'node.lan:5000/library/nginx', resolve))?.entry, '10.0.0.0/8 (node.lan is 10.1.2.3)');
  assert.equal((await findInsecure(config, '10.9.9.9:5000', resolve))?.entry, '10.0.0.0/8 (10.9.9.9 is 10.9.9.9)');
  assert.equal((await findInsecure(config, '[fd00::5]:5000', resolve))?.entry, 'fd00::/8 (fd00::5 is fd00::5)');
  assert.equal((await findInsecure(config, 'v6.lan:5000', resolve))?.entry, 'fd00::/8 (v6.lan is fd00::5)');
  assert.equal(await findInsecure(config, 'unresolvable.lan:5000', resolve), undefined);

  for (const [text, reason] of [
    ['{', /not valid JSON/],
    ['[]', /not a JSON object/],
    ['{"insecure-registries": "sealos.hub:5000"}', /must be a list of strings/],
    ['{"insecure-registries": ["ftp://x"]}', /is not a host\[:port\] or a CIDR/],
  ] as const) {
    const bad = parseDaemonJson(text, 'daemon.json');
    assert.equal(bad.ok, false, text);
    if (!bad.ok) assert.match(bad.reason, reason);
  }
  assert.deepEqual(parseDaemonJson('', 'daemon.json'), { ok: true, value: { hosts: [], cidrs: [], source: 'daemon.json' } });
});

test('either file makes a registry insecure; registries.conf names its entry', async () => {
  const conf = entries(`[[registry]]\nlocation = "sealos.hub:5000"\ninsecure = true\n`, '/etc/containers/registries.conf').value;
  const config: InsecureConfig = { registriesConf: conf, daemon: [{ hosts: ['other.hub:5000'], cidrs: [], source: 'daemon.json' }] };
  assert.deepEqual(await findInsecure(config, 'sealos.hub:5000', noResolve), { source: '/etc/containers/registries.conf', entry: 'sealos.hub:5000' });
  assert.deepEqual(await findInsecure(config, 'other.hub:5000', noResolve), { source: 'daemon.json', entry: 'other.hub:5000' });
  assert.equal(await findInsecure(config, 'registry.example', noResolve), undefined, 'no CIDRs: nothing is resolved');
});

test('hosts table: /etc/hosts format, the table before the system resolver', async () => {
  const table = parseHostsFile('# comment\n127.0.0.1 sealos.hub Registry.Local  # trailing\n::1 sealos.hub\nnot-an-ip bad.example\n\n');
  assert.deepEqual([...table.entries()], [['sealos.hub', ['127.0.0.1', '::1']], ['registry.local', ['127.0.0.1']]]);
  assert.deepEqual(await resolveAddresses('SEALOS.hub', table), ['127.0.0.1', '::1']);
  assert.deepEqual(await resolveAddresses('10.0.0.1', table), ['10.0.0.1']);
  const lookup = hostsLookup(table);
  const one = await new Promise<[string, number | undefined]>((resolve, reject) => lookup('sealos.hub', { family: 6 }, (error, address, family) => (error ? reject(error) : resolve([address as string, family]))));
  assert.deepEqual(one, ['::1', 6]);
  const all = await new Promise<unknown>((resolve, reject) => lookup('registry.local', { all: true }, (error, address) => (error ? reject(error) : resolve(address))));
  assert.deepEqual(all, [{ address: '127.0.0.1', family: 4 }]);
  const system = await new Promise<string>((resolve, reject) => lookup('localhost', { family: 4 }, (error, address) => (error ? reject(error) : resolve(address as string))));
  assert.match(system, /^127\./, 'names not in the table go to the system resolver');
});

test('the recorded transport lives in a "berth" section; auths and other keys stay as they were', () => {
  const original: AuthFile = { auths: { 'docker.io': { auth: 'eDp5' } }, credHelpers: { 'gcr.io': 'gcloud' } };
  const withLogin = setCredentials(original, 'sealos.hub:5000', { username: 'admin', password: 'passw0rd' });
  const recorded = setRecordedTransport(withLogin, 'sealos.hub:5000', 'http');
  assert.equal(recordedTransport(recorded, 'sealos.hub:5000'), 'http');
  assert.deepEqual(recorded.auths, withLogin.auths);
  assert.deepEqual(recorded['credHelpers'], original['credHelpers']);
  assert.deepEqual(recorded['berth'], { transports: { 'sealos.hub:5000': 'http' } });
  const two = setRecordedTransport(recorded, 'other:5000', 'https-insecure');
  assert.equal(recordedTransport(two, 'other:5000'), 'https-insecure');
  const forgotten = setRecordedTransport(two, 'sealos.hub:5000', undefined);
  assert.deepEqual(forgotten['berth'], { transports: { 'other:5000': 'https-insecure' } });
  assert.equal('berth' in withoutRecordedTransports(two), false, 'an empty section goes away');
  // Unknown values written by someone else are ignored, not trusted.
  assert.equal(recordedTransport({ auths: {}, berth: { transports: { 'x:1': 'ftp' } } }, 'x:1'), undefined);
});
