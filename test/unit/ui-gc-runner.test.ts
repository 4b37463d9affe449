// The UI's garbage-collection job: its state lives in a record every process can read;
// one job at a time; a job whose process died reads as failed; a collection that finds
// another one running leaves that one's record alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { GcBusyError, type GcReport } from '../../src/storage/gc.js';
import { RegistryError } from '../../src/registry/errors.js';
import type { GcJob } from '../../src/registry/ui/api-types.js';
import { GcRunner, type JobRecord } from '../../src/registry/ui/gc-runner.js';

const log = pino({ level: 'silent' });

function memoryRecord(): JobRecord & { value: unknown } {
  const record = {
    value: undefined as unknown,
    read: async () => record.value,
    write: async (job: GcJob) => {
      record.value = JSON.parse(JSON.stringify(job)) as unknown;
    },
  };
  return record;
}

const report = (bytes: number): GcReport =>
  ({ dryRun: false, deleteUntagged: false, deleted: [{ digest: 'sha256:x', size: bytes }], bytesFreed: bytes, untaggedRemoved: [] }) as unknown as GcReport;

async function settle(runner: GcRunner, id: string): Promise<GcJob> {
  for (let i = 0; i < 100; i++) {
    const job = await runner.current();
    if (job?.id === id && job.state !== 'running') return job;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('the job did not finish');
}

test('a job runs in the background; any runner over the same record sees it, and a second start while it runs is refused', async () => {
  const record = memoryRecord();
  let finish: (value: GcReport) => void = () => undefined;
  let finished = 0;
  const runner = new GcRunner(() => new Promise<GcReport>((resolve) => (finish = resolve)), record, log, () => (finished += 1));
  const other = new GcRunner(() => Promise.resolve(report(0)), record, log, () => undefined);
  const job = await runner.start({ dryRun: false, deleteUntagged: false }, 'admin');
  assert.equal(job.state, 'running');
  assert.equal((await other.current())?.id, job.id, 'another worker reads the same job');
  await assert.rejects(other.start({ dryRun: true, deleteUntagged: false }, 'admin'), (error: unknown) => error instanceof RegistryError && error.kind === 'GC_RUNNING');
  finish(report(1234));
  const done = await settle(other, job.id);
  assert.equal(done.state, 'done');
  assert.equal(done.bytesFreed, 1234);
  assert.equal(done.blobsDeleted, 1);
  assert.equal(finished, 1);
});

test('a running job whose record is no longer refreshed reads as failed', async () => {
  const record = memoryRecord();
  const runner = new GcRunner(() => Promise.resolve(report(0)), record, log, () => undefined);
  const old = new Date(Date.now() - 120_000).toISOString();
  record.value = { id: 'gone', state: 'running', dryRun: false, deleteUntagged: false, startedAt: old, updatedAt: old, finishedAt: null, bytesFreed: 0, blobsDeleted: 0, manifestsRemoved: 0, error: null };
  const job = await runner.current();
  assert.equal(job?.state, 'failed');
  assert.match(job?.error ?? '', /stopped before it finished/);
  const next = await runner.start({ dryRun: true, deleteUntagged: false }, 'admin');
  assert.equal((await settle(runner, next.id)).state, 'done', 'a new job may start');
  record.value = { not: 'a job' };
  assert.equal(await runner.current(), null);
});

test("a collection refused by another's lease does not overwrite that job's record", async () => {
  const record = memoryRecord();
  const runner = new GcRunner(
    async () => {
      // Meanwhile, another process recorded its own job.
      const now = new Date().toISOString();
      record.value = { id: 'theirs', state: 'running', dryRun: false, deleteUntagged: false, startedAt: now, updatedAt: now, finishedAt: null, bytesFreed: 0, blobsDeleted: 0, manifestsRemoved: 0, error: null };
      throw new GcBusyError('another garbage collection holds the lease');
    },
    record,
    log,
    () => undefined,
  );
  await runner.start({ dryRun: false, deleteUntagged: false }, 'admin');
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal((await runner.current())?.id, 'theirs');
  assert.equal((await runner.current())?.state, 'running');
});

test('a failed collection is recorded as failed without its error details', async () => {
  const record = memoryRecord();
  const runner = new GcRunner(() => Promise.reject(new Error('EACCES: /secret/path')), record, log, () => undefined);
  const job = await runner.start({ dryRun: false, deleteUntagged: false }, 'admin');
  const failed = await settle(runner, job.id);
  assert.equal(failed.state, 'failed');
  assert.doesNotMatch(failed.error ?? '', /secret/);
});
