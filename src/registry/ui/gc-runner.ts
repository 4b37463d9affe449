// A garbage collection started from the UI runs in the background (it can take longer
// than a connection stays open) and the UI polls its state. One at a time per process;
// across processes and hosts the GC lease keeps collections apart (storage/gc.ts), and a
// collection that finds the lease taken fails with that reason.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { GcBusyError, type GcReport } from '../../storage/gc.js';
import { RegistryError } from '../errors.js';
import type { GcJob, GcRequest } from './api-types.js';

export class GcRunner {
  private job: GcJob | null = null;

  constructor(
    private readonly collect: (request: GcRequest) => Promise<GcReport>,
    private readonly log: Logger,
    private readonly onFinished: () => void,
  ) {}

  get current(): GcJob | null {
    return this.job;
  }

  start(request: GcRequest, user: string): GcJob {
    if (this.job?.state === 'running') throw new RegistryError('GC_RUNNING');
    const started: GcJob = {
      id: randomUUID(),
      state: 'running',
      dryRun: request.dryRun,
      deleteUntagged: request.deleteUntagged,
      startedAt: new Date().toISOString(),
      finishedAt: null,
      bytesFreed: 0,
      blobsDeleted: 0,
      manifestsRemoved: 0,
      error: null,
    };
    this.job = started;
    this.log.info({ user, dryRun: request.dryRun, deleteUntagged: request.deleteUntagged }, 'ui: garbage collection started');
    void this.collect(request).then(
      (report) => {
        this.job = {
          ...started,
          state: 'done',
          finishedAt: new Date().toISOString(),
          bytesFreed: report.bytesFreed,
          blobsDeleted: report.deleted.length,
          manifestsRemoved: report.untaggedRemoved.length,
        };
        this.log.info({ user, dryRun: report.dryRun, bytesFreed: report.bytesFreed, blobs: report.deleted.length }, 'ui: garbage collection finished');
        this.onFinished();
      },
      (error: unknown) => {
        const busy = error instanceof GcBusyError;
        this.job = { ...started, state: 'failed', finishedAt: new Date().toISOString(), error: busy ? error.message : 'the collection failed; the registry log has the reason' };
        if (busy) this.log.warn({ user, err: error.message }, 'ui: garbage collection not started');
        else this.log.error({ user, err: error }, 'ui: garbage collection failed');
        this.onFinished();
      },
    );
    return started;
  }
}
