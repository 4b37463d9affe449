// Prometheus metrics of one registry instance, in its own prom-client Registry so
// several servers (tests) never share counters.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { GcStatus } from '../storage/types.js';

export class RegistryMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'berth_registry_requests_total',
    help: 'HTTP requests by endpoint, method and status',
    labelNames: ['endpoint', 'method', 'status'] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'berth_registry_request_duration_seconds',
    help: 'Request latency by endpoint and method',
    labelNames: ['endpoint', 'method'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly bytesIn = new Counter({ name: 'berth_registry_bytes_received_total', help: 'Bytes received on requests', registers: [this.registry] });
  readonly bytesOut = new Counter({ name: 'berth_registry_bytes_sent_total', help: 'Bytes sent in responses', registers: [this.registry] });
  readonly uploadsInFlight = new Gauge({ name: 'berth_registry_uploads_in_flight', help: 'Blob upload requests being received now', registers: [this.registry] });
  readonly uploadSessions = new Counter({
    name: 'berth_registry_upload_sessions_total',
    help: 'Upload sessions by outcome (started, completed, cancelled, failed)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly storageErrors = new Counter({
    name: 'berth_registry_storage_errors_total',
    help: 'Storage failures by error code (ENOSPC, EIO, ...)',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly authFailures = new Counter({ name: 'berth_registry_auth_failures_total', help: 'Rejected credentials', registers: [this.registry] });
  readonly throttled = new Counter({
    name: 'berth_registry_throttled_total',
    help: 'Requests answered 429 by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly gcRuns: Gauge;
  readonly gcBytesFreed: Gauge;
  readonly gcLastRun: Gauge;

  /**
   * `gcStatus` reads the GC record in the storage at scrape time. Every worker of a
   * `--workers` registry reads the same record, so across workers it is the max, not the sum.
   */
  constructor(gcStatus?: () => Promise<GcStatus>) {
    collectDefaultMetrics({ register: this.registry, prefix: 'berth_registry_' });
    const fromStatus = (pick: (status: GcStatus) => number) =>
      async function (this: Gauge): Promise<void> {
        if (gcStatus) this.set(pick(await gcStatus()));
      };
    this.gcRuns = new Gauge({ name: 'berth_registry_gc_runs_total', help: 'Garbage collections recorded in the data directory', registers: [this.registry], aggregator: 'max', collect: fromStatus((s) => s.runs) });
    this.gcBytesFreed = new Gauge({ name: 'berth_registry_gc_bytes_freed_total', help: 'Bytes freed by recorded garbage collections', registers: [this.registry], aggregator: 'max', collect: fromStatus((s) => s.bytesFreed) });
    this.gcLastRun = new Gauge({
      name: 'berth_registry_gc_last_run_timestamp_seconds',
      help: 'End time of the last recorded garbage collection',
      registers: [this.registry],
      aggregator: 'max',
      collect: fromStatus((s) => (s.lastRunEnd ? Date.parse(s.lastRunEnd) / 1000 : 0)),
    });
  }
}
