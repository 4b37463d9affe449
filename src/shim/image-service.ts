// The three ImageService calls the shim changes:
// - PullImage: walk the plan the rewriter made: each registry (or replica) that has the
//   image in priority order, with that registry's credentials in place of kubelet's,
//   then the original request (kubelet's own credentials) unless `fallback: false`.
//   A registry that fails, or dies during the pull, costs one attempt, not the pull:
//   kubelet sees one PullImage that succeeds if any step does. A failure of the
//   runtime's own (pull-errors.ts) gets one more try from the same registry.
// - ImageStatus and RemoveImage: ask the runtime about the original name first and use
//   what it knows (the image ID); otherwise look for the image under its rewritten
//   names, asking the runtime only (no registry round trip on kubelet's hot path).
//   ImageStatus asks for the rewritten name first while a pull's decision is cached.
// ListImages, StreamImages and ImageFsInfo pass through untouched (passthrough.ts).
import { Metadata, status, type ServerUnaryCall, type ServiceError, type handleUnaryCall } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { RegistryTarget, ShimConfig } from './config.js';
import type { CriCodecs } from './cri.js';
import { pullRequestHasAuth, requestImage, withPullCredentials, withRequestImage, type PullCredentials } from './cri-messages.js';
import { recordDecision, type CredentialHandling, type Decision } from './decision.js';
import { classifyPullFailure } from './pull-errors.js';
import type { ShimMetrics } from './metrics.js';
import { stepReference, type PullStep, type Rewriter } from './rewrite.js';
import type { RuntimeConnection } from './runtime-connection.js';
import { WireFormatError } from './wire.js';

export interface ImagePaths {
  readonly pull: string;
  readonly status: string;
  readonly remove: string;
}

/** What a config reload swaps as a whole. */
export interface ActiveState {
  readonly config: ShimConfig;
  readonly rewriter: Rewriter;
}

export interface ImageServiceDeps {
  readonly runtime: RuntimeConnection;
  readonly codecs: CriCodecs;
  readonly paths: ImagePaths;
  readonly state: () => ActiveState;
  readonly metrics: ShimMetrics;
  readonly log: Logger;
}

function serviceError(code: status, details: string): ServiceError {
  return Object.assign(new Error(`${code} ${status[code]}: ${details}`), { code, details, metadata: new Metadata() });
}

function isServiceError(error: unknown): error is ServiceError {
  return error instanceof Error && typeof (error as Partial<ServiceError>).code === 'number' && typeof (error as Partial<ServiceError>).details === 'string';
}

function asServiceError(error: unknown): ServiceError {
  if (isServiceError(error)) return error;
  if (error instanceof WireFormatError) return serviceError(status.INVALID_ARGUMENT, `malformed request: ${error.message}`);
  return serviceError(status.INTERNAL, (error as Error).message ?? String(error));
}

/** The same status code with a message that says what the shim did before. */
function withDetails(error: ServiceError, details: string): ServiceError {
  return Object.assign(new Error(`${error.code} ${status[error.code]}: ${details}`), { code: error.code, details, metadata: error.metadata });
}

function credentialsOf(target: RegistryTarget): PullCredentials | undefined {
  return target.auth ? { username: target.auth.username, password: target.auth.password } : undefined;
}

interface StepFailure {
  readonly reference: string;
  readonly registry: string;
  readonly details: string;
}

function describeFailures(failures: readonly StepFailure[]): string {
  return failures.map((f) => `the pull of ${f.reference} from ${f.registry} failed: ${f.details}`).join('; ');
}

/** The request for one step of a plan, and how the decision log describes it. */
function pullAttempt(step: PullStep, request: Buffer, kubeletSentAuth: boolean): { request: Buffer; decision: Pick<Decision, 'result' | 'rewritten' | 'registry' | 'credentials' | 'digest'> } {
  if (step.kind === 'registry') {
    const target = step.candidate.target;
    const privateCredentials = credentialsOf(target);
    return {
      request: withPullCredentials(withRequestImage(request, step.candidate.reference), privateCredentials),
      decision: {
        result: step.candidate.reference,
        rewritten: true,
        registry: target.host,
        credentials: kubeletSentAuth ? (privateCredentials ? 'replaced' : 'removed') : privateCredentials ? 'injected' : 'none',
        digest: step.digest,
      },
    };
  }
  // A reference that names a configured registry gets its credentials when kubelet sent
  // none (how `crictl pull sealos.hub:5000/pause:3.9` works without --creds). Otherwise
  // the caller's own bytes: its reference and its credentials, as if the shim were not there.
  const target = step.target;
  const inject = target !== undefined && target.auth !== undefined && !kubeletSentAuth;
  const credentials: CredentialHandling = inject ? 'injected' : kubeletSentAuth ? 'kept' : 'none';
  return {
    request: inject ? withPullCredentials(request, credentialsOf(target)) : request,
    decision: { result: step.reference, rewritten: false, registry: target?.host, credentials },
  };
}

/** A unary handler from an async function; errors become gRPC statuses. */
function unary(work: (call: ServerUnaryCall<Buffer, Buffer>) => Promise<Buffer>): handleUnaryCall<Buffer, Buffer> {
  return (call, callback) => {
    work(call).then(
      (response) => callback(null, response),
      (error: unknown) => callback(asServiceError(error)),
    );
  };
}

export class ImageService {
  constructor(private readonly deps: ImageServiceDeps) {}

  handlers(): Record<'PullImage' | 'ImageStatus' | 'RemoveImage', handleUnaryCall<Buffer, Buffer>> {
    return {
      PullImage: unary((call) => this.pull(call)),
      ImageStatus: unary((call) => this.status(call)),
      RemoveImage: unary((call) => this.remove(call)),
    };
  }

  private context(call: ServerUnaryCall<Buffer, Buffer>, deadline?: number): { parent: ServerUnaryCall<Buffer, Buffer>; metadata: ServerUnaryCall<Buffer, Buffer>['metadata']; deadline?: number } {
    return { parent: call, metadata: call.metadata, ...(deadline !== undefined ? { deadline } : {}) };
  }

  private async pull(call: ServerUnaryCall<Buffer, Buffer>): Promise<Buffer> {
    const { runtime, paths, log, metrics } = this.deps;
    const { config, rewriter } = this.deps.state();
    const request = call.request;
    const image = requestImage(request);
    // Without a deadline from the caller, `timeout` bounds the whole walk of the plan.
    const context = this.context(call, Date.now() + config.timeoutMs);
    if (image === undefined || image === '') return runtime.unary(paths.pull, request, context);

    const resolution = await rewriter.resolve(image);
    const kubeletSentAuth = pullRequestHasAuth(request);
    const plan = resolution.plan;
    const base = {
      action: 'PullImage' as const,
      original: image,
      cache: resolution.cache,
      reason: resolution.reason,
      probes: resolution.probes,
      ...(plan.length > 1 ? { plan: plan.map(stepReference) } : {}),
    };
    const failures: StepFailure[] = [];
    let skipped: string[] = [];
    // The step being tried again after a failure of the runtime's own (pull-errors.ts).
    let retrying = false;
    let index = 0;
    while (index < plan.length) {
      const step = plan[index]!;
      const last = index === plan.length - 1;
      // A registry whose breaker opened after the plan was made (other pulls found it
      // dead) is passed over, so a hung one cannot hold the pull until its deadline.
      // The last step is always tried: it is the pull's only chance left.
      if (!retrying && step.kind === 'registry' && !last && rewriter.breakerOpen(step.candidate.target)) {
        skipped.push(step.candidate.target.host);
        index += 1;
        continue;
      }
      const attempt = pullAttempt(step, request, kubeletSentAuth);
      const previous = failures.at(-1);
      if (previous === undefined) {
        recordDecision(log, metrics, { ...base, ...attempt.decision, skipped });
      } else {
        if (!retrying) (step.kind === 'registry' ? metrics.failovers : metrics.fallbacks).inc({ registry: previous.registry });
        const reason = retrying ? 'runtime-retry' : step.kind === 'registry' ? 'failover' : 'private-pull-failed';
        recordDecision(log, metrics, { ...base, ...attempt.decision, cache: 'none', reason, skipped, failed: previous.registry, error: previous.details }, 'warn');
      }
      skipped = [];
      try {
        const response = await runtime.unary(paths.pull, attempt.request, context);
        metrics.pulls.inc({ registry: step.kind === 'registry' ? step.candidate.target.host : 'original' });
        return response;
      } catch (caught) {
        const error = asServiceError(caught);
        if (step.kind === 'original') {
          if (failures.length === 0) throw error;
          throw withDetails(error, `${error.details} (fallback to the original after ${describeFailures(failures)})`);
        }
        const target = step.candidate.target;
        metrics.pullFailures.inc({ registry: target.host });
        rewriter.reportPullFailure(target, error.details);
        // The registry may have lost the image (or a blob), or died: search afresh next time.
        if (resolution.normalised) rewriter.forget(resolution.normalised);
        if (error.code === status.CANCELLED || error.code === status.DEADLINE_EXCEEDED) throw error;
        const failure = { reference: step.candidate.reference, registry: target.host, details: error.details };
        // A failure of the runtime's own gets one more try from the same registry.
        const again: boolean = !retrying && classifyPullFailure(error.details) === 'runtime';
        if (last && !again) {
          const earlier = failures.length > 0 ? `; before that, ${describeFailures(failures)}` : '';
          throw withDetails(error, `pull of ${failure.reference} from registry ${failure.registry} failed and fallback is off (fallback: false): ${failure.details}${earlier}`);
        }
        failures.push(failure);
        retrying = again;
        if (!again) index += 1;
      }
    }
    // Not reached: the plan is never empty and its last step returns or throws.
    throw serviceError(status.INTERNAL, `no step of the pull plan for ${image} was tried`);
  }

  /** The image ID the runtime has for `image`, or undefined. */
  private async imageOnNode(image: string, call: ServerUnaryCall<Buffer, Buffer>): Promise<string | undefined> {
    const { runtime, codecs, paths } = this.deps;
    const response = await runtime.unary(paths.status, codecs.encodeImageStatusRequest(image), this.context(call));
    return codecs.decodeImageStatusResponse(response)?.id;
  }

  private async status(call: ServerUnaryCall<Buffer, Buffer>): Promise<Buffer> {
    const { runtime, codecs, paths, log, metrics } = this.deps;
    const request = call.request;
    const image = requestImage(request);
    if (image === undefined || image === '') return runtime.unary(paths.status, request, this.context(call));
    const rewriter = this.deps.state().rewriter;
    // Kubelet asks ImageStatus before every container start. When a pull through the shim
    // is still cached, the node holds the image under that rewritten name: asking for it
    // first answers in one runtime call instead of two. Otherwise (or when the node no
    // longer has it), the original name first, then the rewritten candidates.
    const cached = rewriter.cachedRewrite(image);
    if (cached) {
      const response = await runtime.unary(paths.status, withRequestImage(request, cached.reference), this.context(call));
      const found = codecs.decodeImageStatusResponse(response);
      if (found) {
        recordDecision(log, metrics, { action: 'ImageStatus', original: image, result: cached.reference, rewritten: true, registry: cached.target.host, cache: 'hit', reason: 'on-node-as-rewritten', imageId: found.id });
        return response;
      }
    }
    const first = await runtime.unary(paths.status, request, this.context(call));
    if (codecs.decodeImageStatusResponse(first)) return first;
    const local = rewriter.localCandidates(image);
    for (const candidate of local.candidates) {
      if (candidate.reference === cached?.reference) continue; // asked above
      const response = await runtime.unary(paths.status, withRequestImage(request, candidate.reference), this.context(call));
      const found = codecs.decodeImageStatusResponse(response);
      if (found) {
        recordDecision(log, metrics, { action: 'ImageStatus', original: image, result: candidate.reference, rewritten: true, registry: candidate.target.host, cache: 'none', reason: 'on-node-as-rewritten', imageId: found.id });
        return response;
      }
    }
    if (local.candidates.length > 0) {
      recordDecision(log, metrics, { action: 'ImageStatus', original: image, result: image, rewritten: false, registry: undefined, cache: 'none', reason: 'not-on-node' });
    }
    return first;
  }

  private async remove(call: ServerUnaryCall<Buffer, Buffer>): Promise<Buffer> {
    const { runtime, paths, log, metrics } = this.deps;
    const request = call.request;
    const image = requestImage(request);
    if (image === undefined || image === '') return runtime.unary(paths.remove, request, this.context(call));
    const byOriginal = await this.imageOnNode(image, call);
    if (byOriginal) {
      recordDecision(log, metrics, { action: 'RemoveImage', original: image, result: byOriginal, rewritten: byOriginal !== image, registry: undefined, cache: 'none', reason: 'on-node', imageId: byOriginal });
      return runtime.unary(paths.remove, withRequestImage(request, byOriginal), this.context(call));
    }
    for (const candidate of this.deps.state().rewriter.localCandidates(image).candidates) {
      const id = await this.imageOnNode(candidate.reference, call);
      if (id) {
        recordDecision(log, metrics, { action: 'RemoveImage', original: image, result: id, rewritten: true, registry: candidate.target.host, cache: 'none', reason: 'on-node-as-rewritten', imageId: id });
        return runtime.unary(paths.remove, withRequestImage(request, id), this.context(call));
      }
    }
    recordDecision(log, metrics, { action: 'RemoveImage', original: image, result: image, rewritten: false, registry: undefined, cache: 'none', reason: 'not-on-node' });
    // Removing an image that is not there is not an error in the CRI: let the runtime say so.
    return runtime.unary(paths.remove, request, this.context(call));
  }
}
