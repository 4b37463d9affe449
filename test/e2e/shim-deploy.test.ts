// The files in deploy/ are what operators install, so they are tested as installed:
// the sample config passes `berth shim validate`, the units and the kubelet drop-in
// pass `systemd-analyze verify`, both units' ExecStart lines run the real CLI with its
// real flags (registry answers, shim serves, reloads on ExecReload's SIGHUP and removes
// its socket on stop), and the kubelet drop-in and crictl.yaml name the sample's
// sockets. (deploy/crictl.yaml and deploy/containerd-hosts.toml are also used by the
// shim end-to-end lab with containerd.) The high-availability files in deploy/ha/ are
// checked here for form and for naming the same three replicas; shim-replica-loss runs
// them for real (the unit's ExecStart, the registry sample on S3, HAProxy, the shim
// sample and containerd's hosts.toml).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { readRegistryConfigDocument } from '../../src/registry/config.js';
import { DEPLOY_DIR, deployFileWith, execStartArgs } from '../support/deploy.js';
import { freePort, basicAuth } from '../support/net.js';
import { run, startProcess, stopAll, stopProcess, waitFor } from '../support/process.js';
import { startShim } from '../support/shim.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';
import { BERTH_BIN, PROJECT_ROOT, tool } from '../support/tools.js';

const DEPLOY = DEPLOY_DIR;
const SAMPLE = path.join(DEPLOY, 'image-cri-shim.yaml');

after(async () => {
  await stopAll();
  await removeScratchDirs();
});

function berth(args: readonly string[], allowFailure = false): ReturnType<typeof run> {
  return run(process.execPath, [BERTH_BIN, ...args], { allowFailure });
}

test('berth shim validate accepts the sample config without warnings and masks its password', async () => {
  const result = await berth(['shim', 'validate', '-f', SAMPLE]);
  assert.equal(result.stderr, '', 'no warnings for the sample');
  const settings = parseYaml(result.stdout.replace(/^#.*\n/, '')) as Record<string, unknown> & { registries: Array<Record<string, unknown>> };
  assert.equal(settings['shim'], '/var/run/image-cri-shim.sock');
  assert.equal(settings['cri'], '/run/containerd/containerd.sock');
  assert.equal(settings['fallback'], true);
  assert.equal(settings['probeTimeout'], '2s');
  assert.equal(settings.registries[0]!['address'], 'http://sealos.hub:5000');
  assert.equal(settings.registries[0]!['auth'], 'robot$nodes:******', 'nodes sign in with a pull-only robot');
  assert.ok(!result.stdout.includes('PASTE-THE-ROBOT-SECRET-HERE'), 'the secret is masked');
});

test('berth shim validate: bad files fail with a reason, unknown keys are warnings, --version prints the version', async () => {
  const dir = await scratchDir('shim-validate-');
  const bad = path.join(dir, 'bad.yaml');
  await writeFile(bad, 'address: http://sealos.hub:5000\nforce: maybe\n');
  const refused = await berth(['shim', 'validate', '-f', bad], true);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^error: config .*bad\.yaml: force: /m);
  const missing = await berth(['shim', 'validate', '-f', path.join(dir, 'nope.yaml')], true);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /cannot read .*nope\.yaml: no such file/);
  const legacy = path.join(dir, 'legacy.yaml');
  await writeFile(legacy, 'version: v1alpha2\naddress: http://sealos.hub:5000\nauth: "admin:a:b"\n');
  const warned = await berth(['shim', 'validate', '-f', legacy]);
  assert.match(warned.stderr, /warning: ignored legacy key version/);
  assert.match(warned.stdout, /auth: admin:\*{6}/);
  const pkg = JSON.parse(await readFile(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal((await berth(['shim', '--version'])).stdout.trim(), pkg.version);
});

test('systemd-analyze verify accepts both units and the kubelet drop-in', async () => {
  const dir = await scratchDir('shim-units-');
  // verify checks that ExecStart binaries exist: point them at this build (and kubelet at /bin/true).
  for (const unit of ['image-cri-shim.service', 'registry.service']) {
    await writeFile(path.join(dir, unit), (await readFile(path.join(DEPLOY, unit), 'utf8')).replaceAll('/usr/local/bin/berth', BERTH_BIN));
  }
  await writeFile(path.join(dir, 'kubelet.service'), '[Unit]\nDescription=kubelet stand-in\n[Service]\nExecStart=/bin/true\n');
  await mkdir(path.join(dir, 'kubelet.service.d'));
  await writeFile(path.join(dir, 'kubelet.service.d', '20-image-cri-shim.conf'), (await readFile(path.join(DEPLOY, 'kubelet-image-cri-shim.conf'), 'utf8')).replaceAll('/usr/bin/kubelet', '/bin/true'));
  const result = await run(tool('systemd-analyze'), ['verify', 'image-cri-shim.service', 'registry.service', 'kubelet.service'], {
    cwd: dir,
    env: { ...process.env, SYSTEMD_UNIT_PATH: `${dir}:` },
    allowFailure: true,
  });
  assert.equal(result.code, 0, result.stderr);
  assert.doesNotMatch(result.stderr, /Unknown|Invalid|ignoring|not executable/i, result.stderr);
});

test('the registry unit\'s ExecStart is a working `berth registry serve` command line', async () => {
  const args = await execStartArgs('registry.service', '/usr/local/bin/berth');
  assert.deepEqual(args.slice(0, 2), ['registry', 'serve']);
  const dir = await scratchDir('shim-registry-unit-');
  const htpasswd = path.join(dir, 'registry_htpasswd');
  await run(tool('htpasswd'), ['-Bbc', '-C', '5', htpasswd, 'admin', 'unit-pass']);
  const port = await freePort();
  const substituted = args.map((arg) => arg.replace('/var/lib/registry', path.join(dir, 'data')).replace('/etc/registry/registry_htpasswd', htpasswd).replace('0.0.0.0:5000', `127.0.0.1:${port}`));
  assert.notDeepEqual(substituted, args, 'the unit names the data dir, htpasswd and address it serves');
  const child = startProcess(process.execPath, [BERTH_BIN, ...substituted], { stdio: 'ignore' });
  try {
    await waitFor('the registry from the unit', async () => {
      if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}`);
      return (await fetch(`http://127.0.0.1:${port}/v2/`).catch(() => undefined))?.status === 401 ? true : undefined;
    });
    const ok = await fetch(`http://127.0.0.1:${port}/v2/`, { headers: { authorization: basicAuth('admin', 'unit-pass') } });
    assert.equal(ok.status, 200);
  } finally {
    await stopProcess(child);
  }
});

test('the shim unit\'s ExecStart serves, ExecReload\'s SIGHUP reloads, stop removes the socket; kubelet and crictl point at the same socket', async () => {
  const args = await execStartArgs('image-cri-shim.service', '/usr/local/bin/berth');
  assert.deepEqual(args, ['shim', '-f', '/etc/image-cri-shim.yaml']);
  const unit = await readFile(path.join(DEPLOY, 'image-cri-shim.service'), 'utf8');
  assert.match(unit, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
  assert.match(unit, /^Restart=always$/m);

  const sample = parseYaml(await readFile(SAMPLE, 'utf8')) as { shim: string; cri: string; force: boolean };
  const dir = await scratchDir('shim-unit-');
  const config = path.join(dir, 'image-cri-shim.yaml');
  const socket = path.join(dir, 'run', 'image-cri-shim.sock');
  // The sample as installed, with its sockets moved into the scratch dir (force: true in
  // the sample lets it serve before the runtime is up).
  await writeFile(config, (await readFile(SAMPLE, 'utf8')).replace(sample.shim, socket).replace(sample.cri, path.join(dir, 'containerd.sock')));
  const shim = await startShim(config);
  try {
    assert.ok((await lstat(socket)).isSocket());
    const from = (await shim.lines()).length;
    shim.child.kill('SIGHUP');
    await shim.waitForLine('the reload', (line) => line.msg === 'config reloaded; rewrite cache cleared', { from });
  } finally {
    shim.child.kill('SIGTERM');
    assert.deepEqual(await shim.exit(), { code: 0, signal: null });
  }
  await assert.rejects(lstat(socket), /ENOENT/);

  const dropIn = await readFile(path.join(DEPLOY, 'kubelet-image-cri-shim.conf'), 'utf8');
  assert.match(dropIn, /^ExecStart=$/m, 'the drop-in resets ExecStart before replacing it');
  assert.ok(dropIn.includes(`--image-service-endpoint=unix://${sample.shim}`));
  assert.ok(dropIn.includes(`--container-runtime-endpoint=unix://${sample.cri}`));
  const crictl = parseYaml(await readFile(path.join(DEPLOY, 'crictl.yaml'), 'utf8')) as Record<string, string>;
  assert.equal(crictl['image-endpoint'], `unix://${sample.shim}`);
  assert.equal(crictl['runtime-endpoint'], `unix://${sample.cri}`);
  const hosts = await readFile(path.join(DEPLOY, 'containerd-hosts.toml'), 'utf8');
  const address = (parseYaml(await readFile(SAMPLE, 'utf8')) as { address: string }).address;
  assert.ok(hosts.includes(`server = "${address}"`) && hosts.includes(`[host."${address}"]`), 'hosts.toml serves the sample address over plain HTTP');
});

const MASTERS = ['master1:5000', 'master2:5000', 'master3:5000'];

test('deploy/ha: a valid replica config (one httpSecret, no bucket credentials); shim, containerd and HAProxy name the same three replicas, in the same order', async () => {
  const registry = readRegistryConfigDocument(parseYaml(await readFile(path.join(DEPLOY, 'ha', 'registry.yaml'), 'utf8')));
  assert.ok(registry.ok, registry.ok ? '' : registry.reason);
  assert.deepEqual(registry.warnings, []);
  assert.equal(registry.values.addr, '0.0.0.0:5000');
  assert.ok(registry.values.s3, 'the storage is S3');
  assert.equal(registry.values.s3.accessKey, undefined, 'bucket credentials come from the environment, not the file');
  assert.equal(registry.values.s3.secretKey, undefined);
  assert.ok((registry.values.httpSecret ?? '').length >= 16, 'one httpSecret for every replica');
  assert.ok(registry.values.htpasswd);

  const validated = await berth(['shim', 'validate', '-f', path.join(DEPLOY, 'ha', 'image-cri-shim.yaml')]);
  assert.equal(validated.stderr, '', 'no warnings for the sample');
  const shim = parseYaml(validated.stdout.replace(/^#.*\n/, '')) as { fallback: boolean; registries: Array<Record<string, unknown>> };
  assert.deepEqual(
    shim.registries.map((r) => r['address']),
    MASTERS.map((m) => `http://${m}`),
    'tried in this order',
  );
  assert.ok(shim.registries.every((r) => r['auth'] === 'admin:******'));
  assert.ok(!validated.stdout.includes('passw0rd'));

  const hosts = await readFile(path.join(DEPLOY, 'ha', 'containerd-hosts.toml'), 'utf8');
  assert.match(hosts, /^server = "http:\/\/sealos\.hub:5000"$/m);
  assert.deepEqual([...hosts.matchAll(/^\[host\."http:\/\/([^"]+)"\]$/gm)].map((m) => m[1]), MASTERS);

  const haproxy = await readFile(path.join(DEPLOY, 'ha', 'haproxy.cfg'), 'utf8');
  assert.deepEqual([...haproxy.matchAll(/^\s*server \S+ (\S+) check/gm)].map((m) => m[1]), MASTERS);
  assert.match(haproxy, /^\s*http-check send meth GET uri \/readyz\b/m, 'health from /readyz');
  assert.match(haproxy, /^\s*mode tcp$/m);
  // haproxy -c resolves server names: the masters become loopback ports here.
  const dir = await scratchDir('deploy-ha-');
  const cfg = path.join(dir, 'haproxy.cfg');
  await writeFile(cfg, await deployFileWith('ha/haproxy.cfg', MASTERS.map((m, i) => [m, `127.0.0.1:${5000 + i}`] as const)));
  const checked = await run(tool('haproxy'), ['-c', '-f', cfg], { allowFailure: true });
  assert.equal(checked.code, 0, `${checked.stdout}${checked.stderr}`);
  assert.doesNotMatch(`${checked.stdout}${checked.stderr}`, /\[WARNING\]|\[ALERT\]/);
});

test('deploy/ha: the replica unit template passes systemd-analyze verify as an instance; reload is SIGHUP, stop is SIGTERM, the instance names its config and credentials', async () => {
  const unit = await readFile(path.join(DEPLOY, 'ha', 'berth-registry@.service'), 'utf8');
  assert.deepEqual(await execStartArgs('ha/berth-registry@.service', '/usr/local/bin/berth'), ['registry', 'serve', '--config', '/etc/berth/%i.yaml']);
  assert.match(unit, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
  assert.match(unit, /^KillSignal=SIGTERM$/m);
  assert.match(unit, /^EnvironmentFile=-\/etc\/berth\/%i\.env$/m);
  assert.match(unit, /^Restart=always$/m);
  const dir = await scratchDir('deploy-ha-unit-');
  await writeFile(path.join(dir, 'berth-registry@.service'), unit.replaceAll('/usr/local/bin/berth', BERTH_BIN));
  const result = await run(tool('systemd-analyze'), ['verify', 'berth-registry@ha.service'], {
    cwd: dir,
    env: { ...process.env, SYSTEMD_UNIT_PATH: `${dir}:` },
    allowFailure: true,
  });
  assert.equal(result.code, 0, result.stderr);
  assert.doesNotMatch(result.stderr, /Unknown|Invalid|ignoring|not executable/i, result.stderr);
});
