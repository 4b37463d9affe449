// Crash safety, on any storage: 32 concurrent pushers of distinct and shared layers while
// the registry is killed with SIGKILL at random moments and restarted, at least 20 times
// (BERTH_CRASH_CYCLES raises it; `--long` mode in the README). After every restart: every
// push that got 201 pulls back byte-identical, every blob in the storage hashes to its
// digest, and no tag points at a missing manifest. At the end, abandoned upload sessions
// are reclaimed after the configured age and `berth registry fsck` is clean.
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { Readable } from 'node:stream';
import { RegistryClient } from '../../src/client/registry-client.js';
import { HttpTransport } from '../../src/client/transport.js';
import { TEST_PASSWORD, TEST_USER, type TestRegistry } from './berth.js';
import { rawImage, sha256 } from './images.js';
import { run, waitFor } from './process.js';
import { BERTH_BIN } from './tools.js';

export const CRASH_CYCLES = Number(process.env['BERTH_CRASH_CYCLES'] ?? 20);
const PUSHERS = 32;

interface Acked {
  readonly repository: string;
  readonly tag: string;
  readonly digest: string;
  readonly blobs: ReadonlyArray<{ digest: string; bytes: Buffer }>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Layers every pusher shares, so concurrent uploads of one blob happen all the time. */
const SHARED = Array.from({ length: 4 }, (_, i) => Buffer.concat([Buffer.from(`shared-${i}-`), randomBytes(96 * 1024)]));

function makeImage(pusher: number, round: number): { blobs: Array<{ digest: string; bytes: Buffer }>; manifest: Buffer } {
  const distinct = randomBytes(32 * 1024 + Math.floor(Math.random() * 512 * 1024));
  return rawImage({ pusher, round }, [SHARED[(pusher + round) % SHARED.length]!, distinct]);
}

/** The storage a crash run works on, read directly (not through Berth). */
export interface CrashStorage {
  /** Starts `berth registry serve` on the storage, always on the same port. */
  start(): Promise<TestRegistry & { child: ChildProcess }>;
  /** Every blob not checked before hashes to its digest, every `crash/` tag resolves; the blobs checked. */
  check(): Promise<{ blobs: number }>;
  /** Upload sessions left in the `crash/` repositories. */
  countUploadSessions(): Promise<number>;
  /** How `berth registry fsck` names the storage. */
  readonly fsckArgs: readonly string[];
  /** Kill-and-restart cycles (default CRASH_CYCLES). */
  readonly cycles?: number;
  /** How long a push request may take before the pusher gives up on it (default 5 s). */
  readonly requestTimeoutMs?: number;
  /** How long the abandoned sessions may take to be purged at the end (default 20 s). */
  readonly purgeWaitMs?: number;
}

/** Berth's config lines for a crash run: abandoned sessions are purged after `purgeAge`. */
export function crashConfig(purgeAge = '3s', purgeInterval = '1s'): string {
  return `uploadPurgeAge: ${purgeAge}\nuploadPurgeInterval: ${purgeInterval}\nshutdownGrace: 1s\nlogLevel: warn\n`;
}

export async function crashUnderPushers(t: TestContext, storage: CrashStorage): Promise<void> {
  const cycles = storage.cycles ?? CRASH_CYCLES;
  let registry = await storage.start();
  const transport = new HttpTransport({ maxSockets: 64, timeoutMs: storage.requestTimeoutMs ?? 5000 });
  const client = new RegistryClient({ registry: registry.host, credentials: () => ({ username: TEST_USER, password: TEST_PASSWORD }), attempts: 1, transport });
  const acked: Acked[] = [];
  let verifiedUpTo = 0;
  let paused = false;
  let stopping = false;
  let attempted = 0;
  let failedDuringCrash = 0;

  const pusher = async (id: number): Promise<void> => {
    for (let round = 0; !stopping; round++) {
      while (paused && !stopping) await sleep(20);
      if (stopping) break;
      const repository = `crash/p${id % 8}`;
      const tag = `p${id}-r${round}`;
      const image = makeImage(id, round);
      attempted += 1;
      try {
        for (const blob of image.blobs) {
          await client.pushBlob(repository, blob.digest, blob.bytes.length, () => Readable.from([blob.bytes]), blob.bytes.length > 200_000 ? { chunkSize: 128 * 1024 } : {});
        }
        const digest = await client.putManifest(repository, tag, image.manifest, 'application/vnd.oci.image.manifest.v1+json');
        assert.equal(digest, sha256(image.manifest));
        acked.push({ repository, tag, digest, blobs: image.blobs });
      } catch {
        failedDuringCrash += 1; // the server died under this push: not acknowledged
        await sleep(50);
      }
    }
  };

  const verify = async (fully: readonly Acked[]): Promise<{ blobs: number }> => {
    for (const push of fully) {
      const manifest = await client.getManifest(push.repository, push.tag);
      assert.equal(manifest?.digest, push.digest, `${push.repository}:${push.tag} lost its manifest`);
      for (const blob of push.blobs) {
        const { stream } = await client.getBlob(push.repository, blob.digest);
        const chunks: Buffer[] = [];
        for await (const chunk of stream) chunks.push(chunk as Buffer);
        assert.ok(Buffer.concat(chunks).equals(blob.bytes), `${push.repository}@${blob.digest} differs`);
      }
    }
    return storage.check();
  };

  const workers = Array.from({ length: PUSHERS }, (_, i) => pusher(i));
  let blobsHashed = 0;
  try {
    for (let cycle = 1; cycle <= cycles; cycle++) {
      // Let pushes make progress after each restart, then kill at a random moment
      // while the 32 pushers are mid-flight.
      const before = acked.length;
      await waitFor('a push to complete after the restart', () => (acked.length > before ? true : undefined), 60_000);
      await sleep(Math.random() * 1500);
      const exited = new Promise((resolve) => registry.child.once('exit', resolve));
      registry.child.kill('SIGKILL');
      await exited;
      paused = true;
      registry = await storage.start();
      const fresh = acked.slice(verifiedUpTo);
      const result = await verify(fresh);
      blobsHashed += result.blobs;
      verifiedUpTo += fresh.length;
      paused = false;
    }
  } finally {
    stopping = true;
    await Promise.all(workers);
  }
  // Everything acknowledged over the whole run, once more, in full.
  const final = await verify(acked);
  blobsHashed += final.blobs;
  assert.ok(acked.length >= cycles, `pushes kept succeeding between crashes (${acked.length} acknowledged)`);
  assert.ok(failedDuringCrash > 0, 'kills interrupted pushes (otherwise the test proves nothing)');

  // Sessions cut off by the kills are reclaimed once older than uploadPurgeAge (3s).
  await waitFor('abandoned upload sessions to be purged', async () => ((await storage.countUploadSessions()) === 0 ? true : undefined), storage.purgeWaitMs ?? 20_000);
  await registry.stop();
  transport.close();

  const fsck = await run(process.execPath, [BERTH_BIN, 'registry', 'fsck', ...storage.fsckArgs, '--json'], { allowFailure: true });
  const report = JSON.parse(fsck.stdout) as { blobs: number; problems: Array<{ severity: string; kind: string; path: string }> };
  assert.deepEqual(report.problems.filter((p) => p.severity === 'error'), []);
  assert.equal(fsck.code, 0);
  t.diagnostic(
    `crash figures: cycles=${cycles} pushes_attempted=${attempted} pushes_acknowledged=${acked.length} pushes_interrupted=${failedDuringCrash} ` +
      `acknowledged_pushes_verified=${acked.length} blob_hashes_checked=${blobsHashed} fsck_blobs=${report.blobs} lost=0 corrupted=0`,
  );
}
