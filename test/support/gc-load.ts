// Online garbage collection under load, on any storage: `berth registry gc` runs again
// and again (a separate process, as operators run it) while 8 pushers push images with
// shared and distinct layers and 2 deleters delete images, against a `berth registry
// serve` process on the same storage. After every round, every image that was
// acknowledged and not deleted pulls back completely with every digest verified: no
// reachable blob is ever deleted. At the end the blobs only deleted images used are gone.
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { RegistryClient } from '../../src/client/registry-client.js';
import { HttpTransport } from '../../src/client/transport.js';
import { TEST_PASSWORD, TEST_USER, type TestRegistry } from './berth.js';
import { rawImage } from './images.js';
import { run } from './process.js';
import { BERTH_BIN } from './tools.js';

export const GC_ROUNDS = Number(process.env['BERTH_GC_ROUNDS'] ?? 15);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const SHARED = Array.from({ length: 6 }, (_, i) => Buffer.concat([Buffer.from(`gc-shared-${i}`), randomBytes(64 * 1024)]));

interface Image {
  readonly repository: string;
  readonly tag: string;
  readonly digest: string;
  readonly blobs: ReadonlyArray<{ digest: string; bytes: Buffer }>;
}

export interface GcLoadTarget {
  /** A running `berth registry serve` process on the storage. */
  readonly registry: TestRegistry;
  /** How `berth registry gc` names that storage (`--data-dir DIR`, `--config FILE`). */
  readonly gcArgs: readonly string[];
  /** Whether the blob store still holds `digest` (read directly, not through Berth). */
  blobExists(digest: string): Promise<boolean>;
  /** Collections to run (default GC_ROUNDS). */
  readonly rounds?: number;
  /** Each pusher's pause between pushes (default 150 ms); every image is checked after every round. */
  readonly pushPauseMs?: number;
  /** Pushers wait while this many images are live (the deleters make room); default: no bound. */
  readonly maxLive?: number;
}

export async function gcUnderLoad(t: TestContext, target: GcLoadTarget): Promise<void> {
  const { registry } = target;
  const rounds = target.rounds ?? GC_ROUNDS;
  const transport = new HttpTransport({ maxSockets: 32, timeoutMs: 20_000 });
  const client = new RegistryClient({ registry: registry.host, credentials: () => ({ username: TEST_USER, password: TEST_PASSWORD }), attempts: 1, transport });
  const live = new Map<string, Image>();
  const deleted: Image[] = [];
  let stopping = false;
  let deletesPaused = false;
  let pushFailures = 0;
  let pushes = 0;
  let deletes = 0;

  const pusher = async (id: number): Promise<void> => {
    for (let n = 0; !stopping; n++) {
      while (!stopping && live.size >= (target.maxLive ?? Infinity)) await sleep(50);
      const repository = `gc/app${id % 3}`;
      const distinct = randomBytes(16 * 1024 + Math.floor(Math.random() * 128 * 1024));
      const { blobs, manifest } = rawImage({ id, n }, [SHARED[(id + n) % SHARED.length]!, distinct]);
      try {
        for (const blob of blobs) await client.pushBlob(repository, blob.digest, blob.bytes.length, () => Readable.from([blob.bytes]));
        const tag = `i${id}-${n}`;
        const digest = await client.putManifest(repository, tag, manifest, 'application/vnd.oci.image.manifest.v1+json');
        live.set(`${repository}:${tag}`, { repository, tag, digest, blobs });
        pushes += 1;
      } catch {
        // Allowed by the protocol: a blob swept before its manifest arrived makes the
        // PUT fail cleanly (MANIFEST_BLOB_UNKNOWN); nothing was acknowledged.
        pushFailures += 1;
      }
      await sleep(target.pushPauseMs ?? 150);
    }
  };

  const deleter = async (): Promise<void> => {
    while (!stopping) {
      await sleep(80);
      if (deletesPaused || live.size < 20) continue;
      const keys = [...live.keys()];
      const key = keys[Math.floor(Math.random() * keys.length)]!;
      const image = live.get(key)!;
      live.delete(key);
      await client.deleteManifest(image.repository, image.digest);
      deleted.push(image);
      deletes += 1;
    }
  };

  /**
   * Every live image's manifest and blobs are there: HEADs after each round (a GC
   * removes files, it does not alter them), full reads with digest checks at the end.
   */
  const verifyLive = async (full: boolean): Promise<number> => {
    deletesPaused = true;
    await sleep(100); // let a delete already in flight finish
    let checked = 0;
    try {
      for (const image of [...live.values()]) {
        const manifest = await client.getManifest(image.repository, image.tag);
        assert.equal(manifest?.digest, image.digest, `${image.repository}:${image.tag} lost its manifest`);
        for (const blob of image.blobs) {
          if (full) {
            const { stream } = await client.getBlob(image.repository, blob.digest);
            let size = 0;
            for await (const chunk of stream) size += (chunk as Buffer).length; // the stream verifies the digest
            assert.equal(size, blob.bytes.length);
          } else {
            assert.equal(await client.headBlob(image.repository, blob.digest), blob.bytes.length, `${image.repository}@${blob.digest} was deleted`);
          }
          checked += 1;
        }
      }
    } finally {
      deletesPaused = false;
    }
    return checked;
  };

  const gc = async (deleteUntagged: boolean): Promise<{ deleted: number; bytesFreed: number }> => {
    const result = await run(process.execPath, [BERTH_BIN, 'registry', 'gc', ...target.gcArgs, '--grace', '1s', '--json', ...(deleteUntagged ? ['--delete-untagged'] : [])], { allowFailure: true });
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as { deleted: unknown[]; bytesFreed: number };
    return { deleted: report.deleted.length, bytesFreed: report.bytesFreed };
  };

  const workers = [...Array.from({ length: 8 }, (_, i) => pusher(i)), deleter(), deleter()];
  let freed = 0;
  let swept = 0;
  let blobsVerified = 0;
  try {
    await sleep(1500);
    for (let round = 1; round <= rounds; round++) {
      const report = await gc(round % 2 === 0);
      swept += report.deleted;
      freed += report.bytesFreed;
      blobsVerified += await verifyLive(false);
      await sleep(300);
    }
  } finally {
    stopping = true;
    await Promise.all(workers);
  }
  blobsVerified += await verifyLive(true);
  assert.ok(pushes > rounds * 5, `pushes kept succeeding (${pushes} acknowledged, ${pushFailures} failed)`);
  assert.ok(deletes > 0);

  // Quiet now: one more collection once everything is older than the grace period.
  await sleep(1500);
  const last = await gc(false);
  swept += last.deleted;
  freed += last.bytesFreed;
  blobsVerified += await verifyLive(true);
  const reachable = new Set([...live.values()].flatMap((image) => image.blobs.map((b) => b.digest)));
  const orphans = new Set(deleted.flatMap((image) => [image.digest, ...image.blobs.map((b) => b.digest)]).filter((digest) => !reachable.has(digest)));
  for (const digest of orphans) assert.equal(await target.blobExists(digest), false, `${digest} was only used by deleted images but is still stored`);
  transport.close();
  t.diagnostic(
    `gc-load figures: rounds=${rounds} pushes_acknowledged=${pushes} pushes_failed=${pushFailures} deletes=${deletes} blobs_swept=${swept} bytes_freed=${freed} ` +
      `live_images=${live.size} blob_reads_verified=${blobsVerified} orphans_checked_gone=${orphans.size} reachable_blobs_lost=0`,
  );
}
