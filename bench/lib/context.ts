// What every workload gets: sizes for this mode, the two registries under test, a
// scratch directory, the result collector, and `slot`, which runs one server's turn
// while recording its idle and peak RSS (workload 6 rides along every other workload).
import { PeakSampler, readMemory } from './rss.js';
import type { Results } from './results.js';
import type { Credentials, RunningServer } from './servers.js';

export interface Sizes {
  readonly rounds: number;
  readonly bigLayerBytes: number;
  readonly smallCount: number;
  readonly smallParallel: number;
  readonly blobBytes: number;
  readonly blobFetches: number;
  readonly blobClients: number;
  readonly manifestSeconds: number;
  readonly manifestConnections: readonly number[];
  readonly listRepositories: number;
  readonly listTags: number;
  readonly listPageSize: number;
  readonly shimCalls: number;
  readonly shimPullLayerBytes: number;
}

export const FULL_SIZES: Sizes = {
  rounds: 3,
  bigLayerBytes: 512 * 1024 * 1024,
  smallCount: 200,
  smallParallel: 64,
  blobBytes: 64 * 1024 * 1024,
  blobFetches: 50,
  blobClients: 8,
  manifestSeconds: 10,
  manifestConnections: [16, 128],
  listRepositories: 10_000,
  listTags: 10_000,
  listPageSize: 1000,
  shimCalls: 2000,
  shimPullLayerBytes: 64 * 1024 * 1024,
};

/** --quick: every workload at small sizes, one round; checks completion, not timings. */
export const QUICK_SIZES: Sizes = {
  rounds: 1,
  bigLayerBytes: 8 * 1024 * 1024,
  smallCount: 6,
  smallParallel: 3,
  blobBytes: 4 * 1024 * 1024,
  blobFetches: 8,
  blobClients: 4,
  manifestSeconds: 1,
  manifestConnections: [16, 128],
  listRepositories: 300,
  listTags: 300,
  listPageSize: 100,
  shimCalls: 50,
  shimPullLayerBytes: 1024 * 1024,
};

export interface Context {
  readonly quick: boolean;
  readonly sizes: Sizes;
  /** Scratch directory of this run (same disk as the registries' data). */
  readonly work: string;
  readonly credentials: Credentials;
  /** The bcrypt htpasswd file both registries use. */
  readonly htpasswd: string;
  readonly berth: RunningServer;
  readonly distribution: RunningServer;
  readonly results: Results;
  log(line: string): void;
}

/** Runs `fn` as `server`'s turn in `workload`, recording the server's idle and peak RSS. */
export async function slot<T>(ctx: Context, workload: string, server: RunningServer, round: number, fn: () => Promise<T>): Promise<T> {
  const idle = readMemory(server.pid);
  const sampler = new PeakSampler(server.pid);
  sampler.start();
  try {
    return await fn();
  } finally {
    const peakKiB = sampler.stop();
    if (idle) ctx.results.memory.push({ workload, server: server.name, round, idleKiB: idle.rssKiB, peakKiB });
  }
}

export interface Workload {
  readonly id: string;
  readonly title: string;
  /** Once, before round 1 (extra servers, fixtures). */
  setup?(ctx: Context): Promise<void>;
  /** One round: the subject's turn, then the baseline's (A B), each inside slot(). */
  round(ctx: Context, round: number): Promise<void>;
  /** Once, after the last round; also called after a failure. */
  teardown?(ctx: Context): Promise<void>;
}
