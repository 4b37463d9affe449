// The web UI in a real browser: headless Chromium from Debian driven by playwright-core,
// against a Berth registry holding a multi-arch index, a single image, an image with a
// signature and an SBOM attached by oras (and an attestation on the SBOM), an image whose
// labels and annotations carry XSS payloads (all pushed by skopeo), and 10,000
// repositories written straight into the data directory. What the UI shows is checked
// against crane and oras; deletes and GC are checked through crane; screenshots of every
// page at desktop and phone width go to .test-artifacts/registry-ui/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { artifactDir } from '../support/artifacts.js';
import { readRegistryConfigDocument } from '../../src/registry/config.js';
import { startBerth, TEST_PASSWORD, TEST_USER, type TestRegistry } from '../support/berth.js';
import { launchChromium } from '../support/browser.js';
import { writeBulkRepositories } from '../support/bulk-repositories.js';
import { LayoutWriter, writeImage, writeIndex } from '../support/images.js';
import { oras } from '../support/oras.js';
import { run, stopAll } from '../support/process.js';
import { skopeoCopy } from '../support/skopeo.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';
import { tool } from '../support/tools.js';

const BULK = 10_000;
const VIEWER = 'viewer';
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const SIGNATURE_TYPE = 'application/vnd.cncf.notary.signature';
const SBOM_TYPE = 'application/spdx+json';
const ATTESTATION_TYPE = 'application/vnd.in-toto+json';
/** Payloads in labels, env, manifest annotations and a referrer's annotation: each must show as text. */
const XSS = {
  labelScript: `<script>window.__xss = 'label'; alert('label')</script>`,
  labelImage: `<img src=x onerror="window.__xss = 'label-img'; alert('label-img')">`,
  labelKey: `<svg onload=alert('key')>`,
  annotationImage: `<img src=x onerror="alert('annotation')">`,
  annotationScript: `<script>alert('annotation')</script>`,
  env: `XSS=<script>alert('env')</script>`,
  referrer: `<img src=x onerror="alert('referrer')">`,
};

let work: string;
let registry: TestRegistry;
let browser: Browser;
let admin: BrowserContext;
let shots: string;
let dockerConfig: string;
let expectedFreed = 0;
const dialogs: string[] = [];

async function crane(args: readonly string[]): Promise<string> {
  const result = await run(tool('crane'), [...args, '--insecure'], { env: { ...process.env, DOCKER_CONFIG: dockerConfig } });
  return result.stdout;
}

async function craneJson<T>(args: readonly string[]): Promise<T> {
  return JSON.parse(await crane(args)) as T;
}

interface CraneManifest {
  readonly manifests?: ReadonlyArray<{ digest: string; platform?: { os: string; architecture: string; variant?: string } }>;
  readonly layers?: ReadonlyArray<{ digest: string; size: number }>;
  readonly config?: { digest: string; size: number };
}

const platformName = (p: { os: string; architecture: string; variant?: string }): string => [p.os, p.architecture, p.variant].filter(Boolean).join('/');

/** Polls `check` (bounded) until it returns a value. */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, Math.min(500, 50 * (attempt + 1))));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Waits until nothing in `scope` shows a loading state (nested lists load one after another). */
async function settled(page: Page, scope: string): Promise<void> {
  let quiet = 0;
  await eventually(`${scope} to finish loading`, async () => {
    quiet = (await page.locator(`${scope} [aria-busy="true"]`).count()) === 0 ? quiet + 1 : 0;
    return quiet >= 3 ? true : undefined;
  });
}

/** Desktop (the viewport, scrolled to `focus` if given) and phone (the whole page) screenshots. */
async function shoot(page: Page, name: string, focus?: Locator): Promise<void> {
  await page.setViewportSize(DESKTOP);
  await focus?.scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(shots, `${name}-desktop.png`) });
  await page.setViewportSize(PHONE);
  await page.screenshot({ path: path.join(shots, `${name}-phone.png`), fullPage: true });
  await page.setViewportSize(DESKTOP);
}

async function newContext(): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: DESKTOP, baseURL: registry.url });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: registry.url });
  context.on('page', (page) => page.on('dialog', (dialog) => void dialog.dismiss().then(() => dialogs.push(dialog.message()))));
  return context;
}

async function signIn(page: Page, user: string, password: string): Promise<void> {
  await page.goto('/ui/repositories');
  await page.waitForURL(/\/ui\/login/);
  await page.getByLabel('User').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** The referrers the UI shows as (parent, digest, artifactType), depth first. */
async function shownReferrers(page: Page, parent: string, scope: string): Promise<string[]> {
  const items = page.locator(`${scope} > li > ul > li[data-testid="referrer"]`);
  const found: string[] = [];
  for (let i = 0; i < (await items.count()); i++) {
    const digest = (await items.nth(i).getAttribute('data-digest'))!;
    found.push(`${parent} <- ${digest} ${(await items.nth(i).getAttribute('data-artifact-type'))!}`);
    found.push(...(await shownReferrers(page, digest, `li[data-digest="${digest}"] > ul.tree`)));
  }
  return found;
}

interface OrasNode {
  readonly digest?: string;
  readonly artifactType?: string;
  readonly manifests?: readonly OrasNode[];
  readonly referrers?: readonly OrasNode[];
}

function orasReferrers(node: OrasNode, parent: string): string[] {
  return (node.manifests ?? node.referrers ?? []).flatMap((child) => [`${parent} <- ${child.digest!} ${child.artifactType!}`, ...orasReferrers(child, child.digest!)]);
}

before(async () => {
  work = await scratchDir('ui-');
  shots = artifactDir('registry-ui');
  dockerConfig = path.join(work, 'docker');
  const htpasswd = path.join(work, 'htpasswd');
  await run(tool('htpasswd'), ['-Bbc', '-C', '5', htpasswd, TEST_USER, TEST_PASSWORD]);
  await run(tool('htpasswd'), ['-Bb', '-C', '5', htpasswd, VIEWER, TEST_PASSWORD]);

  // 10,000 repositories straight into the layout, before the registry starts.
  const dataDir = path.join(work, 'data');
  await writeBulkRepositories(dataDir, BULK, (i) => `bulk/team-${String(i % 100).padStart(2, '0')}/service-${String(i).padStart(5, '0')}`);

  const layout = new LayoutWriter(path.join(work, 'layout'));
  const index = await writeIndex(layout, {
    seed: 'ui-multi',
    layerSize: 48 * 1024,
    platforms: [
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64', variant: 'v8' },
      { os: 'linux', architecture: 'arm', variant: 'v7' },
    ],
  });
  layout.tag(index.index, 'multi');
  const single = await writeImage(layout, { seed: 'ui-v2', layers: 3, layerSize: 96 * 1024, entrypoint: ['/bin/app'], env: ['MODE=production'] });
  layout.tag(single.manifest, 'single');
  const signed = await writeImage(layout, { seed: 'ui-signed', layers: 2, layerSize: 32 * 1024 });
  layout.tag(signed.manifest, 'signed');
  const hostile = await writeImage(layout, {
    seed: 'ui-xss',
    layers: 1,
    labels: { 'org.example.script': XSS.labelScript, 'org.example.img': XSS.labelImage, [XSS.labelKey]: 'key payload' },
    env: [XSS.env],
    annotations: { 'org.opencontainers.image.description': XSS.annotationImage, 'org.example.script': XSS.annotationScript },
  });
  layout.tag(hostile.manifest, 'hostile');
  await layout.save();
  // What a GC frees once app:v2 is deleted: its manifest, config and layers (seeded apart from the rest).
  expectedFreed = single.manifestBytes.length + single.config.size + single.layers.reduce((sum, layer) => sum + layer.size, 0);

  // The viewer's rights come from the access-control policy: pull everywhere, nothing else.
  const policy = readRegistryConfigDocument({ accessControl: { admins: { users: [TEST_USER] }, repositories: { '**': { authenticated: ['pull'] } } } });
  assert.ok(policy.ok);
  registry = await startBerth({ htpasswd, dataDir, config: { accessControl: policy.values.accessControl, ui: { enabled: true, readOnlyUsers: [], sessionTtlMs: 3_600_000, gcGraceMs: 0 } } });
  await mkdir(dockerConfig, { recursive: true });
  await writeFile(path.join(dockerConfig, 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from(`${TEST_USER}:${TEST_PASSWORD}`).toString('base64') } } }));

  const copy = (source: string, target: string, all = false): Promise<unknown> =>
    skopeoCopy(`oci:${layout.dir}:${source}`, `docker://${registry.host}/${target}`, { dest: registry, extra: ['--preserve-digests', ...(all ? ['--all'] : [])] });
  await copy('multi', 'app:v1', true);
  await copy('multi', 'app:latest', true);
  await copy('single', 'app:v2');
  await copy('signed', 'signed/web:1.0');
  await copy('hostile', 'xss/labels:latest');

  await writeFile(path.join(work, 'signature.json'), '{"signature":"ui test"}\n');
  await writeFile(path.join(work, 'sbom.spdx.json'), '{"spdxVersion":"SPDX-2.3","name":"ui test"}\n');
  await writeFile(path.join(work, 'attestation.json'), '{"_type":"https://in-toto.io/Statement/v1"}\n');
  const attach = async (subject: string, type: string, file: string, extra: string[] = []): Promise<string> => {
    const result = await oras(['attach'], registry, ['--artifact-type', type, '--format', 'json', ...extra, subject, `${file}:application/json`], { configDir: work, cwd: work });
    return (JSON.parse(result.stdout) as { digest: string }).digest;
  };
  await attach(`${registry.host}/signed/web:1.0`, SIGNATURE_TYPE, 'signature.json');
  const sbom = await attach(`${registry.host}/signed/web:1.0`, SBOM_TYPE, 'sbom.spdx.json', ['--annotation', `org.example.note=${XSS.referrer}`]);
  await attach(`${registry.host}/signed/web@${sbom}`, ATTESTATION_TYPE, 'attestation.json');

  browser = await launchChromium();
  admin = await newContext();
});

after(async () => {
  await browser?.close();
  await registry?.stop();
  await stopAll();
  await removeScratchDirs();
});

test('sign-in: a wrong password is refused; the right one opens an HttpOnly, SameSite=Strict, expiring session and stores nothing in the page', async () => {
  const page = await admin.newPage();
  await page.goto('/ui/repositories');
  await page.waitForURL(/\/ui\/login\?next=/);
  await shoot(page, 'login');
  await page.getByLabel('User').fill(TEST_USER);
  await page.getByLabel('Password').fill('wrong-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('Wrong user name or password.').waitFor();
  assert.deepEqual(await admin.cookies(), [], 'no cookie after a refused sign-in');

  await page.getByLabel('Password').fill(TEST_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/ui\/repositories$/);
  await page.getByTestId('user').getByText(TEST_USER).waitFor();
  const [cookie, ...others] = await admin.cookies();
  assert.equal(others.length, 0);
  assert.ok(cookie);
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');
  assert.equal(cookie.secure, false, 'plain HTTP here; on TLS the cookie is Secure (unit test)');
  assert.ok(cookie.expires > Date.now() / 1000 && cookie.expires <= Date.now() / 1000 + 3600 + 5, `expires within the session TTL: ${cookie.expires}`);
  assert.equal(await page.evaluate('document.cookie'), '', 'scripts cannot read the session cookie');
  assert.equal(await page.evaluate('localStorage.length + sessionStorage.length'), 0, 'nothing in localStorage or sessionStorage');
  await page.close();
});

test(`speed: the repositories page with ${BULK.toLocaleString('en-US')} repositories shows its first rows within 1 s of navigation (browser timing)`, async () => {
  const timings: number[] = [];
  for (let round = 0; round < 2; round++) {
    const page = await admin.newPage();
    // Recorded by the page itself, relative to the navigation's start (performance.timeOrigin).
    await page.addInitScript({
      content: `new MutationObserver((_, observer) => {
        if (document.querySelector('[data-testid="repository-row"]')) { window.__firstRows = performance.now(); observer.disconnect(); }
      }).observe(document, { childList: true, subtree: true });`,
    });
    await page.goto('/ui/repositories');
    await page.getByTestId('repository-row').first().waitFor();
    const firstRowsMs = (await page.evaluate('window.__firstRows')) as number;
    timings.push(firstRowsMs);
    const breakdown = (await page.evaluate(`[
      ...performance.getEntriesByType('navigation').map((e) => 'document ' + e.responseEnd.toFixed(0)),
      ...performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname.replace(/^.*\\//, '') + ' ' + e.responseEnd.toFixed(0)),
    ].join(', ')`)) as string;
    console.log(`round ${round + 1}: first rows at ${firstRowsMs.toFixed(0)} ms; responses done at (ms): ${breakdown}`);
    const total = await page.getByTestId('repository-count').innerText();
    assert.equal(total, `${(BULK + 3).toLocaleString('en-US')} in this registry`);
    assert.equal(await page.getByTestId('repository-row').count(), 50);
    if (round === 0) await shoot(page, 'repositories');
    await page.close();
  }
  console.log(`first rows of the repositories page after ${timings.map((ms) => `${ms.toFixed(0)} ms`).join(', then ')}`);
  for (const ms of timings) assert.ok(ms < 1000, `first rows after ${ms.toFixed(0)} ms`);
});

test('walk-through: search, open a tag; platforms, layer sizes and referrers equal what crane and oras report; copy the pull command', async () => {
  const page = await admin.newPage();
  await page.goto('/ui/repositories');
  // Keyboard only: type into the search box, Tab to the first result, Enter.
  await page.getByLabel('Search repositories').focus();
  await page.keyboard.type('app');
  await page.waitForURL(/q=app/);
  await eventually('one search result', async () => ((await page.getByTestId('repository-row').count()) === 1 ? true : undefined));
  await page.getByRole('link', { name: 'app', exact: true }).waitFor();
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/ui\/repository\?name=app$/);
  await page.getByTestId('tag-row').first().waitFor();
  assert.deepEqual(await page.getByTestId('tag-row').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-tag'))), ['latest', 'v1', 'v2']);
  const v1 = page.locator('[data-testid="tag-row"][data-tag="v1"]');
  assert.deepEqual(await v1.locator('.chip').allInnerTexts(), ['linux/amd64', 'linux/arm64/v8', 'linux/arm/v7']);
  await shoot(page, 'repository');

  // Copy: the docker pull command lands on the clipboard.
  const copyDocker = v1.getByRole('button', { name: 'Copy the docker pull command for app:v1' });
  await copyDocker.click();
  await eventually('the button to say Copied', async () => ((await copyDocker.innerText()).startsWith('Copied') ? true : undefined));
  assert.equal(await page.evaluate('navigator.clipboard.readText()'), `docker pull ${registry.host}/app:v1`);
  await v1.getByRole('button', { name: 'Copy the ctr pull command for app:v1' }).click();
  await eventually('the ctr command on the clipboard', async () =>
    (await page.evaluate('navigator.clipboard.readText()')) === `ctr images pull --plain-http --user ${TEST_USER} ${registry.host}/app:v1` ? true : undefined,
  );

  await v1.getByRole('link', { name: 'v1' }).click();
  await page.waitForURL(/\/ui\/image\?name=app&ref=v1/);
  await page.getByTestId('platform-row').first().waitFor();
  const index = await craneJson<CraneManifest>(['manifest', `${registry.host}/app:v1`]);
  const cranePlatforms = (index.manifests ?? []).map((m) => platformName(m.platform!));
  const shownPlatforms = await page.getByTestId('platform-row').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-platform')));
  assert.deepEqual(shownPlatforms, cranePlatforms);
  assert.equal(await page.getByTestId('image-digest').innerText(), (await crane(['digest', `${registry.host}/app:v1`])).trim());

  for (const [i, entry] of (index.manifests ?? []).entries()) {
    const name = platformName(entry.platform!);
    if (i > 0) await page.getByRole('link', { name: `Show ${name}` }).click();
    const details = page.locator(`[data-testid="image-details"][data-digest="${entry.digest}"]`);
    await details.getByTestId('layer-row').first().waitFor();
    const craneLayers = (await craneJson<CraneManifest>(['manifest', '--platform', name, `${registry.host}/app:v1`])).layers ?? [];
    const shownSizes = await details.locator('[data-testid="layer-row"] .bytes').evaluateAll((cells) => cells.map((cell) => Number(cell.getAttribute('data-bytes'))));
    assert.deepEqual(shownSizes, craneLayers.map((layer) => layer.size), `layer sizes of ${name}`);
    assert.deepEqual(await details.getByTestId('layer-row').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-digest'))), craneLayers.map((layer) => layer.digest));
    if (i === 1) {
      await details.getByTestId('config').waitFor();
      await shoot(page, 'image-index');
    }
  }
  // The raw JSON is one click away.
  await page.getByText('Index JSON').click();
  assert.match(await page.locator('details[open] pre').first().innerText(), /"manifests"/);

  // The signed image: its referrers tree equals oras discover's.
  await page.goto('/ui/repositories?q=signed');
  await page.getByRole('link', { name: 'signed/web' }).click();
  await page.getByRole('link', { name: '1.0', exact: true }).click();
  await page.waitForURL(/ref=1\.0/);
  await page.getByTestId('referrers').waitFor();
  await settled(page, 'section[aria-labelledby="referrers"]');
  const subject = await page.getByTestId('image-digest').innerText();
  const discovered = await oras(['discover'], registry, ['--format', 'json', `${registry.host}/signed/web:1.0`], { configDir: work });
  const expected = orasReferrers(JSON.parse(discovered.stdout) as OrasNode, subject).sort();
  const shown = (await shownReferrers(page, subject, '[data-testid="referrers"]')).sort();
  assert.equal(expected.length, 3, `oras sees a signature, an SBOM and an attestation on the SBOM: ${discovered.stdout}`);
  assert.deepEqual(shown, expected);
  await page.getByTestId('layer-row').first().waitFor();
  await shoot(page, 'image-referrers', page.getByRole('heading', { name: 'Referrers', exact: true }));
  await page.close();
});

test('delete a tag: the confirmation names the other tag on the digest; crane sees the tag gone and the others intact', async () => {
  const page = await admin.newPage();
  await page.goto('/ui/repository?name=app');
  const latest = page.locator('[data-testid="tag-row"][data-tag="latest"]');
  await latest.getByRole('button', { name: 'Delete tag latest' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  assert.match(await dialog.getByTestId('affected').innerText(), /tag v1 also points at/);
  await shoot(page, 'delete-dialog');
  await dialog.getByRole('button', { name: 'Delete tag' }).click();
  await page.getByText('Deleted tag latest.').waitFor();
  await eventually('the latest row to go', async () => ((await latest.count()) === 0 ? true : undefined));
  assert.deepEqual((await crane(['ls', `${registry.host}/app`])).trim().split('\n').sort(), ['v1', 'v2']);
  assert.equal((await crane(['digest', `${registry.host}/app:v1`])).trim(), await page.locator('[data-tag="v1"] code.digest').getAttribute('title'));
  await page.close();
});

test('GC: delete an image, run a collection from the Storage page, see the bytes freed', async () => {
  const page = await admin.newPage();
  const v2Digest = (await crane(['digest', `${registry.host}/app:v2`])).trim();
  await page.goto('/ui/repository?name=app');
  await page.locator('[data-testid="tag-row"][data-tag="v2"]').getByRole('button', { name: /^Delete the image/ }).click();
  const dialog = page.getByRole('dialog');
  assert.match(await dialog.getByTestId('affected').innerText(), /every tag on it: v2\./);
  await dialog.getByRole('button', { name: 'Delete image' }).click();
  await page.getByText(/^Deleted image sha256:/).waitFor();
  assert.deepEqual((await crane(['ls', `${registry.host}/app`])).trim().split('\n'), ['v1']);
  const gone = await run(tool('crane'), ['manifest', '--insecure', `${registry.host}/app@${v2Digest}`], { env: { ...process.env, DOCKER_CONFIG: dockerConfig }, allowFailure: true });
  assert.notEqual(gone.code, 0, 'the deleted manifest is gone');

  await page.getByRole('link', { name: 'Storage' }).click();
  await page.getByTestId('total-bytes').waitFor({ timeout: 30_000 });
  const before = Number(await page.getByTestId('total-bytes').getAttribute('data-bytes'));
  await page.getByRole('button', { name: 'Run garbage collection' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Run now' }).click();
  const result = page.locator('[data-testid="gc-job"][data-state="done"]');
  await result.waitFor({ timeout: 60_000 });
  assert.equal(Number(await result.getAttribute('data-bytes-freed')), expectedFreed, 'freed exactly app:v2 manifest, config and layers');
  assert.match(await result.innerText(), /^Freed .+ in 5 blobs/);
  await eventually('the recount', async () => {
    const after = Number(await page.getByTestId('total-bytes').getAttribute('data-bytes'));
    return after === before - expectedFreed ? true : undefined;
  });
  assert.match(await page.getByTestId('last-gc').innerText(), /freed .+ in 5 blobs/);
  assert.equal(await page.getByTestId('mirror').getByText('No pull-through mirror is configured', { exact: false }).count(), 1);
  await shoot(page, 'storage');
  assert.equal((await crane(['digest', `${registry.host}/app:v1`])).trim().length > 0, true, 'app:v1 still pulls');
  await crane(['manifest', '--platform', 'linux/arm64/v8', `${registry.host}/app:v1`]);
  await page.close();
});

test('security: XSS payloads render as text, CSP is sent, actions need the CSRF token, a read-only user sees no delete and gets 403', async () => {
  const page = await admin.newPage();
  const response = await page.goto('/ui/image?name=xss/labels&ref=latest');
  const csp = response?.headers()['content-security-policy'] ?? '';
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /frame-ancestors 'none'/);
  await page.getByTestId('labels').getByText(XSS.labelScript, { exact: true }).waitFor();
  for (const text of [XSS.labelImage, XSS.labelKey, XSS.annotationImage, XSS.annotationScript, XSS.env]) {
    assert.equal(await page.getByText(text, { exact: true }).count(), 1, `shown as text: ${text}`);
  }
  assert.equal(await page.locator('img, svg, iframe, object, embed').count(), 0, 'no injected element');
  assert.equal(await page.locator('script').count(), 1, 'only the bundle script');
  assert.equal(await page.evaluate('typeof window.__xss'), 'undefined');
  await shoot(page, 'image-hostile', page.getByRole('heading', { name: 'Labels', exact: true }));
  // The SBOM's annotation, in the referrers tree of signed/web.
  await page.goto('/ui/image?name=signed/web&ref=1.0');
  await page.getByText(XSS.referrer, { exact: true }).waitFor();
  assert.equal(await page.locator('img, svg').count(), 0);
  assert.deepEqual(dialogs, [], 'no dialog fired');

  // An action without the CSRF token, from the signed-in page itself.
  const withoutToken = (await page.evaluate(`fetch('/ui/api/actions/delete-tag', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ repository: 'app', tag: 'v1' }) }).then(async (r) => ({ status: r.status, body: await r.json() }))`)) as { status: number; body: { errors: Array<{ code: string }> } };
  assert.equal(withoutToken.status, 403);
  assert.equal(withoutToken.body.errors[0]?.code, 'DENIED');
  const wrongToken = (await page.evaluate(`fetch('/ui/api/actions/gc', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Berth-CSRF': 'x'.repeat(43) },
    body: '{}' }).then((r) => r.status)`)) as number;
  assert.equal(wrongToken, 403);
  assert.deepEqual((await crane(['ls', `${registry.host}/app`])).trim().split('\n'), ['v1'], 'nothing was deleted');
  await page.close();

  // A user whose rights do not include delete: no button, and 403 from the endpoint.
  const viewerContext = await newContext();
  const viewer = await viewerContext.newPage();
  await signIn(viewer, VIEWER, TEST_PASSWORD);
  await viewer.waitForURL(/\/ui\/repositories/);
  await viewer.goto('/ui/repository?name=app');
  await viewer.getByTestId('tag-row').first().waitFor();
  assert.equal(await viewer.locator('[data-action="delete-tag"], [data-action="delete-manifest"]').count(), 0);
  const denied = (await viewer.evaluate(`fetch('/ui/api/session').then((r) => r.json()).then((s) => fetch('/ui/api/actions/delete-tag', { method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Berth-CSRF': s.csrfToken }, body: JSON.stringify({ repository: 'app', tag: 'v1' }) }))
    .then(async (r) => ({ status: r.status, body: await r.json() }))`)) as { status: number; body: { errors: Array<{ code: string; message: string }> } };
  assert.equal(denied.status, 403);
  assert.equal(denied.body.errors[0]?.code, 'DENIED');
  assert.match(denied.body.errors[0]?.message ?? '', /rights/);
  await viewer.goto('/ui/storage');
  await viewer.getByText('Your rights do not include starting a garbage collection.').waitFor();
  assert.equal(await viewer.getByRole('button', { name: 'Run garbage collection' }).count(), 0);
  assert.deepEqual((await crane(['ls', `${registry.host}/app`])).trim().split('\n'), ['v1']);
  await viewerContext.close();
});
