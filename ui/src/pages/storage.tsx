// What the registry stores and what a garbage collection freed (or would free), with the
// control to start one; and a pull-through mirror's upstreams, when one is configured.
import { useEffect, useState } from 'preact/hooks';
import type { GcJob, StorageReport } from '../../../src/registry/ui/api-types';
import { api } from '../api';
import { Bytes, ConfirmDialog, EmptyState, ErrorState, Loading, RelativeTime, useLoad } from '../components';
import { RepositoryTable } from '../repository-table';
import { formatBytes, formatCount } from '../format';

/** How often a running collection is polled. */
const POLL_MS = 1000;

function JobResult({ job }: { job: GcJob }) {
  if (job.state === 'running') {
    return (
      <p class="notice" role="status" data-testid="gc-job" data-state="running">
        {job.dryRun ? 'Checking what a collection would free…' : 'Collecting garbage…'} (started <RelativeTime iso={job.startedAt} />)
      </p>
    );
  }
  if (job.state === 'failed') {
    return (
      <p class="form-error" role="alert" data-testid="gc-job" data-state="failed">
        The collection failed: {job.error}
      </p>
    );
  }
  return (
    <p class="notice" role="status" data-testid="gc-job" data-state="done" data-bytes-freed={job.bytesFreed}>
      {job.dryRun ? 'A collection would free ' : 'Freed '}
      <strong>
        <Bytes value={job.bytesFreed} />
      </strong>{' '}
      in {formatCount(job.blobsDeleted)} {job.blobsDeleted === 1 ? 'blob' : 'blobs'}
      {job.deleteUntagged ? ` and ${job.dryRun ? 'would remove' : 'removed'} ${formatCount(job.manifestsRemoved)} untagged manifests` : ''} (
      <RelativeTime iso={job.finishedAt} />
      ).
    </p>
  );
}

function GcControls({ report, onFinished }: { report: StorageReport; onFinished: () => void }) {
  const [job, setJob] = useState<GcJob | null>(report.gcJob);
  const [deleteUntagged, setDeleteUntagged] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (job?.state !== 'running') return undefined;
    let live = true;
    const timer = setInterval(() => {
      void api.gc().then((result) => {
        if (!live || !result.ok || !result.value.job) return;
        setJob(result.value.job);
        if (result.value.job.state !== 'running') onFinished();
      });
    }, POLL_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [job?.id, job?.state]);

  const start = async (dryRun: boolean): Promise<string | null> => {
    setError(null);
    const result = await api.startGc({ dryRun, deleteUntagged });
    if (!result.ok) return result.status === 403 ? `Not allowed: ${result.message}.` : result.message;
    setJob(result.value.job);
    return null;
  };
  const running = job?.state === 'running';
  if (!report.canGc) return <p class="muted">Your rights do not include starting a garbage collection.</p>;
  return (
    <div class="gc-controls">
      <label class="checkbox">
        <input type="checkbox" checked={deleteUntagged} onChange={(event) => setDeleteUntagged(event.currentTarget.checked)} disabled={running} />
        Also remove untagged manifests
      </label>
      <div class="button-row">
        <button type="button" disabled={running} data-action="gc-dry-run" onClick={() => void start(true).then((failure) => setError(failure))}>
          Preview
        </button>
        <button type="button" class="danger" disabled={running} data-action="gc" onClick={() => setConfirming(true)}>
          Run garbage collection
        </button>
      </div>
      {error !== null && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      {job && <JobResult job={job} />}
      {confirming && (
        <ConfirmDialog title="Run garbage collection?" confirmLabel="Run now" onConfirm={() => start(false)} onClose={() => setConfirming(false)}>
          <p>
            Blobs no manifest references are deleted{deleteUntagged ? ', and so are manifests no tag points at (with what only they reference)' : ''}. Pushes
            may go on meanwhile: anything used recently is kept.
          </p>
        </ConfirmDialog>
      )}
    </div>
  );
}

export function StoragePage() {
  const [refresh, setRefresh] = useState(0);
  const [state, reload] = useLoad(`storage-${refresh}`, () => api.storage(refresh > 0));
  return (
    <main id="main">
      <div class="page-head">
        <h1>Storage</h1>
        {state.kind === 'ok' && (
          <p class="muted">
            Figures as of <RelativeTime iso={state.value.computedAt} />.{' '}
            <button type="button" class="link" onClick={() => setRefresh((n) => n + 1)}>
              Recount
            </button>
          </p>
        )}
      </div>
      {state.kind === 'loading' && <Loading label="Counting what the registry stores" rows={4} />}
      {state.kind === 'error' && <ErrorState title="The storage report could not be loaded" message={state.message} onRetry={reload} />}
      {state.kind === 'ok' && (
        <>
          <div class="cards">
            <section class="card stat" aria-labelledby="stat-bytes">
              <h2 id="stat-bytes">Stored</h2>
              <p class="big" data-testid="total-bytes" data-bytes={state.value.bytes} title={`${formatCount(state.value.bytes)} bytes`}>
                {formatBytes(state.value.bytes)}
              </p>
              <p class="muted">
                {formatCount(state.value.blobs)} blobs in {formatCount(state.value.repositories)} repositories
              </p>
            </section>
            <section class="card stat" aria-labelledby="stat-gc" data-testid="last-gc">
              <h2 id="stat-gc">Last garbage collection</h2>
              {state.value.gc.lastRunEnd === null ? (
                <p class="muted">None has run on this storage yet.</p>
              ) : (
                <>
                  <p class="big">
                    <RelativeTime iso={state.value.gc.lastRunEnd} />
                  </p>
                  <p class="muted">
                    {state.value.gc.lastRun ? (
                      <>
                        freed <Bytes value={state.value.gc.lastRun.bytesFreed} /> in {formatCount(state.value.gc.lastRun.blobsDeleted)} blobs;{' '}
                      </>
                    ) : null}
                    {formatCount(state.value.gc.runs)} runs freed <Bytes value={state.value.gc.bytesFreedTotal} /> in all
                  </p>
                </>
              )}
            </section>
          </div>
          <section class="section" aria-labelledby="gc-heading">
            <h2 id="gc-heading">Garbage collection</h2>
            <GcControls report={state.value} onFinished={() => setRefresh((n) => n + 1)} />
          </section>
          <section class="section" aria-labelledby="largest-heading">
            <h2 id="largest-heading">Largest repositories</h2>
            {state.value.largest.length === 0 ? (
              <EmptyState title="No repositories yet" />
            ) : (
              <RepositoryTable repositories={state.value.largest} caption="Largest repositories" testId="largest" />
            )}
            <p class="muted small">Sizes count each repository's blobs once; blobs shared between repositories count in each, and once in Stored.</p>
          </section>
          <section class="section" aria-labelledby="mirror-heading" data-testid="mirror">
            <h2 id="mirror-heading">Mirror upstreams</h2>
            {state.value.mirror === null ? (
              <p class="muted">No pull-through mirror is configured: this registry serves only what is pushed to it.</p>
            ) : state.value.mirror.upstreams.length === 0 ? (
              <p class="muted">The mirror has no upstreams.</p>
            ) : (
              <table class="table responsive">
                <thead>
                  <tr>
                    <th scope="col">Upstream</th>
                    <th scope="col">Health</th>
                    <th scope="col" class="num">Hits</th>
                    <th scope="col" class="num">Misses</th>
                  </tr>
                </thead>
                <tbody>
                  {state.value.mirror.upstreams.map((upstream) => (
                    <tr key={`${upstream.name} ${upstream.url}`}>
                      <th scope="row" data-label="Upstream">
                        {upstream.name} <span class="muted">{upstream.url}</span>
                      </th>
                      <td data-label="Health">
                        <span class={upstream.healthy ? 'badge ok' : 'badge bad'}>{upstream.healthy ? 'healthy' : 'failing'}</span>
                        {upstream.lastError && <span class="muted"> {upstream.lastError}</span>}
                      </td>
                      <td data-label="Hits" class="num">
                        {formatCount(upstream.hits)}
                      </td>
                      <td data-label="Misses" class="num">
                        {formatCount(upstream.misses)}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
        </>
      )}
    </main>
  );
}
