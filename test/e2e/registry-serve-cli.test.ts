// `berth registry serve` as operators start it: embedded defaults (htpasswd created
// for admin/passw0rd with a warning), a registry:2 config.yml used as is, the
// `serve filesystem DIR --port N` form provisioning scripts call, and bad input.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startBerthProcess, TEST_PASSWORD, TEST_USER } from '../support/berth.js';
import { basicAuth, freePort } from '../support/net.js';
import { run, startProcess, stopAll, stopProcess, waitFor } from '../support/process.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';
import { BERTH_BIN, tool } from '../support/tools.js';

after(async () => {
  await stopAll();
  await removeScratchDirs();
});

test('defaults: an htpasswd for admin/passw0rd is created in the data dir, with a warning', async () => {
  const registry = await startBerthProcess([]);
  try {
    const logs = await registry.logs();
    assert.match(logs, /created one for the default user \\"admin\\"/);
    assert.doesNotMatch(logs, new RegExp(TEST_PASSWORD));
    const htpasswd = await readFile(path.join(registry.dataDir, 'htpasswd'), 'utf8');
    assert.match(htpasswd, /^admin:\$2[aby]\$10\$/);
    assert.equal((await fetch(`${registry.url}/v2/`)).status, 401);
    assert.equal((await fetch(`${registry.url}/v2/`, { headers: { authorization: basicAuth(TEST_USER, TEST_PASSWORD) } })).status, 200);
  } finally {
    await registry.stop();
  }
});

test('a registry:2 config.yml with an htpasswd made by htpasswd -B works unchanged', async () => {
  const work = await scratchDir('serve-config-');
  const port = await freePort();
  await run(tool('htpasswd'), ['-Bbc', path.join(work, 'registry_htpasswd'), 'ops', 's3cret:with:colons']);
  const config = path.join(work, 'registry_config.yml');
  await writeFile(
    config,
    `version: 0.1
log:
  level: info
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: ${path.join(work, 'registry')}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${port}
  headers:
    X-Content-Type-Options: [nosniff]
auth:
  htpasswd:
    realm: Registry Realm
    path: ${path.join(work, 'registry_htpasswd')}
`,
  );
  const child = startProcess(process.execPath, [BERTH_BIN, 'registry', 'serve', '--config', config]);
  try {
    await waitFor('berth to serve', async () => ((await fetch(`http://127.0.0.1:${port}/v2/`).catch(() => undefined))?.status === 401 ? true : undefined));
    const response = await fetch(`http://127.0.0.1:${port}/v2/`);
    assert.equal(response.headers.get('www-authenticate'), 'Basic realm="Registry Realm"');
    assert.equal((await fetch(`http://127.0.0.1:${port}/v2/`, { headers: { authorization: basicAuth('ops', 's3cret:with:colons') } })).status, 200);
  } finally {
    await stopProcess(child);
  }
});

test('serve filesystem DIR --port 0: no auth, a pid file, "serving on :N"', async () => {
  const work = await scratchDir('serve-fs-');
  const pidFile = path.join(work, 'registry.pid');
  const child = startProcess(process.execPath, [BERTH_BIN, 'registry', 'serve', 'filesystem', path.join(work, 'registry'), '--port', '0', '--host', '127.0.0.1', '--pid-file', pidFile]);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  try {
    const port = await waitFor('the serving line', () => /serving on :(\d+)/.exec(output)?.[1]);
    assert.equal((await fetch(`http://127.0.0.1:${port}/v2/`)).status, 200);
    assert.equal(Number((await readFile(pidFile, 'utf8')).trim()), child.pid);
    assert.match(output, /authentication is off/);
  } finally {
    await stopProcess(child);
  }
});

test('bad input: one-line errors and a non-zero exit', async () => {
  const work = await scratchDir('serve-bad-');
  const badYaml = path.join(work, 'bad.yaml');
  await writeFile(badYaml, 'addr: [unclosed');
  const typo = path.join(work, 'typo.yaml');
  await writeFile(typo, 'adr: 127.0.0.1:5000\n');
  const cases: Array<[string[], RegExp]> = [
    [['--config', badYaml], /not valid YAML/],
    [['--config', typo], /adr|Unrecognized key/i],
    [['--config', path.join(work, 'missing.yaml')], /cannot read config/],
    [['--addr', 'nonsense', '--data-dir', path.join(work, 'd')], /invalid listen address/],
    [['--log-level', 'loud'], /unknown log level/],
    [['--tls-cert', path.join(work, 'c.pem')], /--tls-cert and --tls-key go together/],
  ];
  for (const [args, message] of cases) {
    const result = await run(process.execPath, [BERTH_BIN, 'registry', 'serve', ...args], { allowFailure: true, timeoutMs: 20_000 });
    assert.notEqual(result.code, 0, args.join(' '));
    assert.match(result.stderr, message);
    assert.equal(result.stderr.trim().split('\n').length, 1, `one line: ${result.stderr}`);
  }
});
