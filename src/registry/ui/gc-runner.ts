// A garbage collection started from the UI runs in the background (it can take longer
// than a connection stays open) and the UI polls its state. The job's state is a record in
// the storage, so whichever worker or replica answers a poll knows it; the process running
// the job refreshes it while it runs, and a record left "running" by a process that died
// reads as failed once it goes stale. Collections themselves are kept apart across
// processes and hosts by the GC lease (storage/gc.ts): one that finds it taken fails with
// that reason.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { GcBusyError, type GcReport } from '../../storage/gc.js';
import { RegistryError } from '../errors.js';
import type { GcJob, GcRequest } from './api-types.js';

/** Where the job's state is kept (a state record in the storage, see serve.ts). */
export interface JobRecord {
  read(): Promise<unknown>;
  write(job: GcJob): Promise<void>;
}

/** How often a running job's record is refreshed, and when a record not refreshed is stale. */
const HEARTBEAT_MS = 10_000;
const STALE_MS = 60_000;

function parseJob(value: unknown): GcJob | null {
  const job = value as Partial<GcJob> | null | undefined;
  if (typeof job !== 'object' || job === null) return null;
  const texts = [job.id, job.startedAt, job.updatedAt].every((field) => typeof field === 'string');
  const numbers = [job.bytesFreed, job.blobsDeleted, job.manifestsRemoved].every((field) => typeof field === 'number');
  const state = job.state === 'running' || job.state === 'done' || job.state === 'failed';
  if (!texts || !numbers || !state || typeof job.dryRun !== 'boolean' || typeof job.deleteUntagged !== 'boolean') return null;
  return {
    id: job.id!,
    state: job.state!,
    dryRun: job.dryRun,
    deleteUntagged: job.deleteUntagged,
    startedAt: job.startedAt!,
    updatedAt: job.updatedAt!,
    finishedAt: typeof job.finishedAt === 'string' ? job.finishedAt : null,
    bytesFreed: job.bytesFreed!,
    blobsDeleted: job.blobsDeleted!,
    manifestsRemoved: job.manifestsRemoved!,
    error: typeof job.error === 'string' ? job.error : null,
  };
}

export class GcRunner {
  constructor(
    private readonly collect: (request: GcRequest) => Promise<GcReport>,
    private readonly record: JobRecord,
    private readonly log: Logger,
    private readonly onFinished: () => void,
  ) {}

  /** The last job started from the UI by any process serving this storage. */
  async current(now = Date.now()): Promise<GcJob | null> {
    const job = parseJob(await this.record.read());
    if (job?.state === 'running' && now - Date.parse(job.updatedAt) > STALE_MS) {
      return { ...job, state: 'failed', error: 'the process running the collection stopped before it finished' };
    }
    return job;
  }

  async start(request: GcRequest, user: string): Promise<GcJob> {
    if ((await this.current())?.state === 'running') throw new RegistryError('GC_RUNNING');
    const startedAt = new Date().toISOString();
    let job: GcJob = {
      id: randomUUID(),
      state: 'running',
      dryRun: request.dryRun,
      deleteUntagged: request.deleteUntagged,
      startedAt,
      updatedAt: startedAt,
      finishedAt: null,
      bytesFreed: 0,
      blobsDeleted: 0,
      manifestsRemoved: 0,
      error: null,
    };
    await this.record.write(job);
    this.log.info({ user, dryRun: request.dryRun, deleteUntagged: request.deleteUntagged }, 'ui: garbage collection started');
    // One write at a time, in order: a late heartbeat must not land after the final state.
    let writes = Promise.resolve();
    const save = (next: GcJob): Promise<void> => {
      job = next;
      writes = writes
        .then(() => this.record.write(next))
        .catch((error: unknown) => this.log.warn({ err: error }, 'ui: could not record the garbage collection job'));
      return writes;
    };
    const heartbeat = setInterval(() => void save({ ...job, updatedAt: new Date().toISOString() }), HEARTBEAT_MS);
    heartbeat.unref();
    void this.run(request, user, () => job)
      .then((finished) => {
        clearInterval(heartbeat);
        return finished && save(finished);
      })
      .finally(() => this.onFinished());
    return job;
  }

  /** The job's final state; undefined when another process's job owns the record now. */
  private async run(request: GcRequest, user: string, job: () => GcJob): Promise<GcJob | undefined> {
    try {
      const report = await this.collect(request);
      this.log.info({ user, dryRun: report.dryRun, bytesFreed: report.bytesFreed, blobs: report.deleted.length }, 'ui: garbage collection finished');
      const done = new Date().toISOString();
      return {
        ...job(),
        state: 'done',
        updatedAt: done,
        finishedAt: done,
        bytesFreed: report.bytesFreed,
        blobsDeleted: report.deleted.length,
        manifestsRemoved: report.untaggedRemoved.length,
      };
    } catch (error) {
      const busy = error instanceof GcBusyError;
      if (busy) this.log.warn({ user, err: error.message }, 'ui: garbage collection not started');
      else this.log.error({ user, err: error }, 'ui: garbage collection failed');
      // Started beside another process's job: that job's record is not ours to overwrite.
      if (busy && parseJob(await this.record.read().catch(() => undefined))?.id !== job().id) return undefined;
      const finishedAt = new Date().toISOString();
      return { ...job(), state: 'failed', updatedAt: finishedAt, finishedAt, error: busy ? error.message : 'the collection failed; the registry log has the reason' };
    }
  }
}
