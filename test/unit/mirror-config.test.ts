// Mirror settings: Berth's `mirrors:` list with its defaults and checks, registry:2's
// `proxy:` section, and which repository a request means (prefix, ?ns=, Docker Hub's library/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { MirrorTable } from '../../src/mirror/table.js';
import { readRegistryConfigDocument } from '../../src/registry/config.js';
import type { MirrorSettings } from '../../src/registry/mirror-config.js';

function mirrors(document: unknown): readonly MirrorSettings[] {
  const result = readRegistryConfigDocument(document);
  if (!result.ok) throw new Error(result.reason);
  return result.values.mirrors ?? [];
}

function refusal(document: unknown): string {
  const result = readRegistryConfigDocument(document);
  assert.ok(!result.ok, 'refused');
  return result.reason;
}

test('mirrors: defaults, string and object upstreams, per-mirror upstream defaults', () => {
  const [hub, k8s] = mirrors(
    parse(`
mirrors:
  - source: https://index.docker.io
    upstreams: [registry-1.docker.io, {url: "http://10.0.0.9:5000", username: u, password: p, timeout: 2s}]
    timeout: 3s
    breaker: {failureThreshold: 5}
    immutableTags: 'v?[0-9.]+'
    retention: 72h
  - source: registry.k8s.io
    prefix: /mirror/k8s/
    upstreams: [{url: https://registry.k8s.io, authFile: /etc/auth.json, readTimeout: 2m}]
    offline: true
    allowPush: true
    tagTtl: 0s
`),
  );
  assert.equal(hub!.source, 'docker.io', 'Docker Hub aliases fold into docker.io');
  assert.equal(hub!.prefix, 'docker.io', 'the prefix defaults to the source');
  assert.deepEqual(
    hub!.upstreams.map((u) => [u.url, u.timeoutMs, u.breaker.failureThreshold, u.username]),
    [
      ['https://registry-1.docker.io', 3000, 5, undefined],
      ['http://10.0.0.9:5000', 2000, 5, 'u'],
    ],
  );
  assert.equal(hub!.tagTtlMs, 600_000);
  assert.equal(hub!.retentionMs, 72 * 3_600_000);
  assert.equal(hub!.offline, false);
  assert.equal(hub!.allowPush, false);
  assert.equal(k8s!.prefix, 'mirror/k8s');
  assert.equal(k8s!.upstreams[0]!.readTimeoutMs, 120_000);
  assert.equal(k8s!.upstreams[0]!.timeoutMs, 5000);
  assert.equal(k8s!.upstreams[0]!.authFile, '/etc/auth.json');
  assert.deepEqual([k8s!.offline, k8s!.allowPush, k8s!.tagTtlMs, k8s!.retentionMs], [true, true, 0, undefined]);
});

test('mirrors: what cannot work is refused at start-up, naming the key', () => {
  const upstreams = ['https://registry-1.docker.io'];
  assert.match(refusal({ mirrors: [{ source: 'docker.io', upstreams: ['ftp://x'] }] }), /mirrors\[0\]\.upstreams\[0\]: "ftp:\/\/x" is not an upstream URL/);
  assert.match(refusal({ mirrors: [{ source: 'docker.io', upstreams: ['https://u:p@host'] }] }), /not an upstream URL .*without a path or credentials/);
  assert.match(refusal({ mirrors: [{ source: 'docker.io', upstreams: ['https://host/v2/'] }] }), /not an upstream URL/);
  assert.match(refusal({ mirrors: [{ source: 'docker.io', upstreams: [{ url: 'https://h', authFile: '/a', password: 'p' }] }] }), /either authFile or username\/password/);
  assert.match(refusal({ mirrors: [{ source: 'docker.io', upstreams: [] }] }), /upstreams/);
  assert.match(refusal({ mirrors: [{ source: 'docker.io', upstreams, prefix: 'Upper' }] }), /mirrors\[0\]\.prefix: "Upper" is not a repository path/);
  assert.match(refusal({ mirrors: [{ source: 'docker.io', upstreams, immutableTags: '(' }] }), /immutableTags: not a regular expression/);
  assert.match(refusal({ mirrors: [{ source: 'docker.io', upstreams, tagTTL: '1m' }] }), /tagTTL|unrecognized/i);
  assert.match(
    refusal({ mirrors: [{ source: 'docker.io', upstreams }, { source: 'quay.io', prefix: 'docker.io/quay', upstreams }] }),
    /mirrors\[1\]\.prefix: docker\.io\/quay overlaps mirrors\[0\]\.prefix docker\.io/,
  );
  assert.match(refusal({ mirrors: [{ source: 'docker.io', upstreams }, { source: 'index.docker.io', prefix: 'hub', upstreams }] }), /docker\.io is mirrored twice/);
});

test("registry:2's proxy section: the whole registry mirrors remoteurl; ttl is the retention; what Berth cannot do is refused", () => {
  const [proxy] = mirrors(parse('version: 0.1\nproxy:\n  remoteurl: https://registry-1.docker.io\n  username: u\n  password: p\n'));
  assert.equal(proxy!.source, 'docker.io');
  assert.equal(proxy!.prefix, '');
  assert.equal(proxy!.upstreams[0]!.url, 'https://registry-1.docker.io');
  assert.equal(proxy!.upstreams[0]!.username, 'u');
  assert.equal(proxy!.retentionMs, 168 * 3_600_000, "distribution's default ttl");
  assert.equal(proxy!.allowPush, false);
  assert.equal(mirrors(parse('version: 0.1\nproxy:\n  remoteurl: https://r.example\n  ttl: 0\n'))[0]!.retentionMs, undefined, 'ttl 0 keeps content forever');
  assert.equal(mirrors(parse('version: 0.1\nproxy:\n  remoteurl: https://r.example\n  ttl: 24h\n'))[0]!.retentionMs, 24 * 3_600_000);
  assert.match(refusal(parse('version: 0.1\nproxy:\n  remoteurl: https://r.example\n  exec:\n    command: helper\n')), /proxy\.exec: .*not implemented/);
  assert.match(refusal(parse('version: 0.1\nproxy:\n  remoteurl: https://r.example\n  novel: 1\n')), /proxy\.novel is not implemented/);
  assert.match(refusal(parse('version: 0.1\nproxy:\n  remoteurl: not a url\n')), /proxy\.remoteurl/);
});

test('which mirror a repository belongs to, its name upstream, and where ?ns= puts a request', () => {
  const table = new MirrorTable(
    mirrors({
      mirrors: [
        { source: 'docker.io', upstreams: ['https://registry-1.docker.io'] },
        { source: 'registry.k8s.io', prefix: 'mirror/k8s', upstreams: ['https://registry.k8s.io'] },
      ],
    }).map((settings) => ({ settings })),
  );
  assert.equal(table.route('docker.io/library/nginx')?.upstreamRepository, 'library/nginx');
  assert.equal(table.route('docker.io/nginx')?.upstreamRepository, 'library/nginx', "Docker Hub's official images live under library/");
  assert.equal(table.route('mirror/k8s/pause')?.upstreamRepository, 'pause', 'library/ is Docker Hub only');
  assert.equal(table.route('mirror/k8s/pause')?.mirror.settings.source, 'registry.k8s.io');
  assert.equal(table.route('docker.iox/nginx'), undefined, 'a prefix matches whole path components');
  assert.equal(table.route('team/app'), undefined, 'pushed repositories belong to no mirror');
  assert.equal(table.namespace('docker.io', 'library/nginx'), 'docker.io/library/nginx');
  assert.equal(table.namespace('index.docker.io', 'library/nginx'), 'docker.io/library/nginx');
  assert.equal(table.namespace('registry.k8s.io', 'pause'), 'mirror/k8s/pause');
  assert.equal(table.namespace('quay.io', 'org/app'), undefined, 'a source without a mirror: ns is ignored');

  const whole = new MirrorTable(mirrors(parse('version: 0.1\nproxy:\n  remoteurl: https://registry-1.docker.io\n')).map((settings) => ({ settings })));
  assert.equal(whole.route('nginx')?.upstreamRepository, 'library/nginx');
  assert.equal(whole.route('team/app')?.upstreamRepository, 'team/app');
  assert.equal(whole.namespace('docker.io', 'library/nginx'), undefined, 'the proxy form has no prefix to put in front');
});
