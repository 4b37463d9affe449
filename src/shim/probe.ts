// Does a registry have this image? A HEAD of the manifest through the Registry v2 API
// (RegistryClient answers Basic and Bearer challenges), one attempt, bounded in time.
// TLS is verified unless the registry is plain http:// or marked `insecure`.
//
// The outcome keeps apart what the old shim lumped together as "not here": a definite
// 404 (may be cached as absent), a registry that answered with another digest than
// the one pinned (never a match), and failures, which say nothing about the image.
import { RegistryClient } from '../client/registry-client.js';
import { isConnectionFailure, RegistryRequestError, UnauthorizedError } from '../client/errors.js';
import type { Candidate } from './candidates.js';
import type { RegistryTarget } from './config.js';

export type ProbeOutcome =
  | { readonly kind: 'present'; readonly digest: string }
  | { readonly kind: 'absent' }
  | { readonly kind: 'mismatch'; readonly digest: string }
  /** `unreachable`: timeout, connection failure or 5xx (feeds the breaker); otherwise the registry answered. */
  | { readonly kind: 'error'; readonly message: string; readonly unreachable: boolean };

export interface ProbeResult {
  readonly outcome: ProbeOutcome;
  readonly durationMs: number;
}

/** What the rewriter needs from a prober (tests give it a scripted one). */
export interface CandidateProber {
  probe(candidate: Candidate): Promise<ProbeResult>;
}

export interface ProberOptions {
  readonly timeoutMs: number;
  readonly userAgent: string;
}

/** Messages only: never a header or URL with credentials in it. */
export function classifyProbeError(error: unknown): Extract<ProbeOutcome, { kind: 'error' }> {
  const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
  if (error instanceof UnauthorizedError) return { kind: 'error', message: `unauthorized: ${message}`, unreachable: false };
  if (error instanceof RegistryRequestError) {
    return { kind: 'error', message, unreachable: error.status === undefined || error.status >= 500 };
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? '';
  return { kind: 'error', message: code && !message.includes(code) ? `${code}: ${message}` : message, unreachable: isConnectionFailure(error) };
}

export class Prober implements CandidateProber {
  private readonly clients = new Map<string, RegistryClient>();

  constructor(
    targets: readonly RegistryTarget[],
    private readonly options: ProberOptions,
  ) {
    for (const target of targets) {
      const auth = target.auth;
      this.clients.set(
        target.id,
        new RegistryClient({
          registry: target.endpoint,
          plainHttp: target.plainHttp,
          tls: { insecureSkipVerify: target.insecure },
          ...(auth ? { credentials: () => ({ username: auth.username, password: auth.password }) } : {}),
          timeoutMs: options.timeoutMs,
          attempts: 1,
          userAgent: options.userAgent,
        }),
      );
    }
  }

  async probe(candidate: Candidate): Promise<ProbeResult> {
    const started = performance.now();
    const client = this.clients.get(candidate.target.id);
    if (!client) throw new Error(`no client for registry ${candidate.target.id}`);
    let timer: NodeJS.Timeout | undefined;
    // The client bounds each request; a challenge round trip can take two or three,
    // so the whole probe gets the same bound again.
    const deadline = new Promise<ProbeOutcome>((resolve) => {
      timer = setTimeout(() => resolve({ kind: 'error', message: `probe timed out after ${this.options.timeoutMs} ms`, unreachable: true }), this.options.timeoutMs);
    });
    const head = client.headManifest(candidate.repository, candidate.manifestReference).then(
      (found): ProbeOutcome => {
        if (!found) return { kind: 'absent' };
        const pinned = candidate.manifestReference.includes(':') ? candidate.manifestReference : undefined;
        if (pinned !== undefined && found.digest !== pinned) return { kind: 'mismatch', digest: found.digest };
        return { kind: 'present', digest: found.digest };
      },
      (error: unknown) => classifyProbeError(error),
    );
    try {
      const outcome = await Promise.race([head, deadline]);
      return { outcome, durationMs: performance.now() - started };
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}
