// One structured log line (and one counter) per rewrite decision. The fields are
// fixed so operators can grep and alert on them: action, original, result, registry,
// cache, reason. Credentials are described ("replaced", "injected"), never printed.
import type { Logger } from 'pino';
import type { ShimMetrics } from './metrics.js';
import type { CacheUse, ProbeNote } from './rewrite.js';

export type CriAction = 'PullImage' | 'ImageStatus' | 'RemoveImage';

/** What happened to the AuthConfig of a PullImageRequest. */
export type CredentialHandling = 'kept' | 'replaced' | 'injected' | 'removed' | 'none';

export interface Decision {
  readonly action: CriAction;
  readonly original: string;
  readonly result: string;
  readonly rewritten: boolean;
  /** The registry the result points at, if it is a configured one. */
  readonly registry: string | undefined;
  readonly cache: CacheUse;
  readonly reason: string;
  readonly credentials?: CredentialHandling;
  /** Manifest digest the registry reported for the result (PullImage). */
  readonly digest?: string;
  /** Image ID on the node (ImageStatus, RemoveImage). */
  readonly imageId?: string;
  readonly probes?: readonly ProbeNote[];
  /** PullImage: the references the pull may try, in order (when there is more than one). */
  readonly plan?: readonly string[];
  /** PullImage: registries of the plan passed over because their breaker opened meanwhile. */
  readonly skipped?: readonly string[];
  /** The registry whose pull failed just before this step (failover, fallback). */
  readonly failed?: string;
  readonly error?: string;
}

export function recordDecision(log: Logger, metrics: ShimMetrics, decision: Decision, level: 'info' | 'warn' = 'info'): void {
  metrics.rewrites.inc({ action: decision.action, outcome: decision.rewritten ? 'rewritten' : 'unchanged' });
  const { probes, skipped, ...fields } = decision;
  log[level]({ ...fields, ...(probes && probes.length > 0 ? { probes } : {}), ...(skipped && skipped.length > 0 ? { skipped } : {}) }, 'rewrite decision');
}
