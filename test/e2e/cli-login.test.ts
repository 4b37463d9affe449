// `berth login` beyond the seed workflow: on a terminal (util-linux `script` gives a
// pty) it asks for the user and the password and never echoes the password; against a
// Berth serving HTTPS with a test CA, `--ca-file` trusts it, an untrusted certificate
// is a one-line error with a hint and saves nothing, `--insecure` skips verification
// (and is remembered for later commands); a pull over that TLS connection uses the saved login.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { startBerth, startBerthProcess, TEST_PASSWORD, TEST_USER, type TestRegistry } from '../support/berth.js';
import { makePki, type TestPki } from '../support/certs.js';
import { cliSandbox, oneErrorLine, type CliSandbox } from '../support/cli-sandbox.js';
import { LayoutWriter, writeImage } from '../support/images.js';
import { stopAll } from '../support/process.js';
import { skopeoCopy } from '../support/skopeo.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';
import { berthOnTerminal, type TerminalAnswer } from '../support/terminal.js';

let work: string;
let plain: TestRegistry;
let tls: TestRegistry;
let pki: TestPki;
let cli: CliSandbox;

before(async () => {
  work = await scratchDir('cli-login-');
  pki = await makePki(work, 'cli-login');
  [plain, tls, cli] = await Promise.all([
    startBerth(),
    startBerthProcess(['--tls-cert', pki.serverCert, '--tls-key', pki.serverKey], { https: true, caFile: pki.caCert }),
    cliSandbox('cli-login-home-'),
  ]);
});

after(async () => {
  await plain?.stop();
  await tls?.stop();
  await stopAll();
  await removeScratchDirs();
});

async function savedLogins(): Promise<Record<string, { auth: string }>> {
  const text = await readFile(cli.authFile, 'utf8').catch(() => '{"auths":{}}');
  return (JSON.parse(text) as { auths: Record<string, { auth: string }> }).auths;
}

/** A prompt at the end of the screen output; readline may follow it with a cursor move. */
function prompt(text: string): RegExp {
  return new RegExp(`${text.replace(/[()]/g, '\\$&')}(?:\u001b\\[\\d+G)?$`);
}

/** `berth login REGISTRY` on a pseudo-terminal. */
function loginOnTerminal(registry: string, answers: TerminalAnswer[]): ReturnType<typeof berthOnTerminal> {
  return berthOnTerminal(['login', registry], cli.env, answers);
}

test('on a terminal, login asks for the user and the password, and does not echo the password', async () => {
  const result = await loginOnTerminal(plain.host, [
    [prompt('Username: '), TEST_USER],
    [prompt('Password: '), TEST_PASSWORD],
  ]);
  assert.equal(result.code, 0, result.output);
  assert.match(result.output, /Login Succeeded!/);
  assert.ok(!result.output.includes(TEST_PASSWORD), `the password was echoed: ${JSON.stringify(result.output)}`);
  assert.equal((await savedLogins())[plain.host]?.auth, Buffer.from(`${TEST_USER}:${TEST_PASSWORD}`).toString('base64'));
  assert.equal((await stat(cli.authFile)).mode & 0o777, 0o600);

  // The saved user is offered as the default the next time.
  const again = await loginOnTerminal(plain.host, [
    [prompt(`Username (${TEST_USER}): `), ''],
    [prompt('Password: '), TEST_PASSWORD],
  ]);
  assert.equal(again.code, 0, again.output);
});

test('TLS: an untrusted certificate is refused in one line; --ca-file and --insecure log in', async () => {
  const before = await savedLogins();
  const untrusted = await cli.berth(['login', '-u', TEST_USER, '--password-stdin', `https://${tls.host}`], { input: TEST_PASSWORD, allowFailure: true });
  assert.match(oneErrorLine(untrusted), /certificate|self.signed|issuer/i);
  assert.match(untrusted.stderr, /hint: .*--ca-file/);
  assert.deepEqual(await savedLogins(), before, 'nothing saved');

  const trusted = await cli.berth(['login', '-u', TEST_USER, '--password-stdin', '--ca-file', pki.caCert, tls.host], { input: TEST_PASSWORD });
  assert.equal(trusted.stdout, 'Login Succeeded!\n');
  assert.ok((await savedLogins())[tls.host], 'saved under host:port');
  const insecure = await cli.berth(['login', '-u', TEST_USER, '--password-stdin', '--insecure', tls.host], { input: TEST_PASSWORD });
  assert.equal(insecure.stdout, 'Login Succeeded!\n');
  // --insecure falls back to plain http for a registry that does not speak TLS.
  const fallback = await cli.berth(['login', '-u', TEST_USER, '--password-stdin', '--insecure', plain.host], { input: TEST_PASSWORD });
  assert.equal(fallback.stdout, 'Login Succeeded!\n');
});

test('push and pull over TLS with --ca-file use the saved login', async () => {
  const layout = new LayoutWriter(path.join(work, 'layout'));
  const image = await writeImage(layout, { seed: 'cli-login-tls', layers: 1 });
  layout.tag(image.manifest, 'v1');
  await layout.save();
  await skopeoCopy(`oci:${layout.dir}:v1`, `docker://${plain.host}/team/tls:v1`, { dest: plain });
  await cli.berth(['pull', '-q', `${plain.host}/team/tls:v1`]);
  await cli.berth(['tag', `${plain.host}/team/tls:v1`, `${tls.host}/team/tls:v1`]);
  const pushed = await cli.berth(['push', '--ca-file', pki.caCert, `${tls.host}/team/tls:v1`]);
  assert.match(pushed.stdout, new RegExp(`v1: digest: ${image.manifest.digest}`));
  const root = path.join(work, 'second-store');
  const pulled = await cli.berth(['pull', '--root', root, '--ca-file', pki.caCert, `${tls.host}/team/tls:v1`]);
  assert.match(pulled.stdout, new RegExp(`Digest: ${image.manifest.digest}`));
  // The `--insecure` login above recorded TLS without verification; later commands reuse it.
  const saved = JSON.parse(await readFile(cli.authFile, 'utf8')) as { berth?: { transports: Record<string, string> } };
  assert.equal(saved.berth?.transports[tls.host], 'https-insecure');
  const reused = await cli.berth(['pull', '--root', path.join(work, 'third-store'), `${tls.host}/team/tls:v1`]);
  assert.match(reused.stdout, new RegExp(`Digest: ${image.manifest.digest}`));
  // Without that record (another auth file) and without --ca-file a loopback registry is
  // plain http, which a TLS server does not answer.
  const otherAuth = path.join(work, 'other-auth.json');
  oneErrorLine(await cli.berth(['pull', '--authfile', otherAuth, '--root', path.join(work, 'fourth-store'), `${tls.host}/team/tls:v1`], { allowFailure: true }));
});
