// The gRPC channel to the real runtime (containerd, cri-o, cri-dockerd) on its unix
// socket. Every call carries raw bytes; the caller's deadline and cancellation follow
// the call through (`parent`), so a kubelet that gives up also stops the runtime's work.
import { Client, Metadata, credentials, status, type ClientReadableStream, type ServiceError, type ServerUnaryCall, type ServerWritableStream } from '@grpc/grpc-js';

/** Same as kubelet's and the old shim's limit for CRI responses (ListImages on a big node). */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

const identity = (value: Buffer): Buffer => value;

/** An incoming call whose deadline and cancellation a forwarded call inherits. */
export type ParentCall = ServerUnaryCall<Buffer, Buffer> | ServerWritableStream<Buffer, Buffer>;

export interface CallContext {
  /** The incoming call: its deadline and cancellation propagate. */
  readonly parent?: ParentCall;
  readonly metadata?: Metadata;
  /** An extra deadline (ms since the epoch), for calls the shim makes on its own. */
  readonly deadline?: number;
}

/** Headers that belong to one HTTP/2 hop and must not be copied onto the next. */
function forwardableMetadata(metadata: Metadata | undefined): Metadata {
  const copy = new Metadata();
  if (!metadata) return copy;
  for (const [key, values] of Object.entries(metadata.toJSON())) {
    if (key.startsWith(':') || key.startsWith('grpc-') || key === 'user-agent' || key === 'content-type' || key === 'te') continue;
    for (const value of values) copy.add(key, value);
  }
  return copy;
}

export class RuntimeConnection {
  private readonly client: Client;

  constructor(readonly socketPath: string) {
    this.client = new Client(`unix://${socketPath}`, credentials.createInsecure(), {
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
      // Reconnect quickly when the runtime restarts: it is on the same machine.
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 2000,
    });
  }

  private options(context: CallContext): { deadline?: number; parent?: ParentCall } {
    return { ...(context.deadline !== undefined ? { deadline: context.deadline } : {}), ...(context.parent ? { parent: context.parent } : {}) };
  }

  unary(path: string, request: Buffer, context: CallContext = {}): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(path, identity, identity, request, forwardableMetadata(context.metadata), this.options(context), (error, response) => {
        if (error) reject(this.explain(error));
        else resolve(response ?? Buffer.alloc(0));
      });
    });
  }

  serverStream(path: string, request: Buffer, context: CallContext = {}): ClientReadableStream<Buffer> {
    return this.client.makeServerStreamRequest(path, identity, identity, request, forwardableMetadata(context.metadata), this.options(context));
  }

  /** Names the runtime socket in "cannot connect" errors, so kubelet's events say what is missing. */
  explain(error: ServiceError): ServiceError {
    if (error.code !== status.UNAVAILABLE || error.details.startsWith('runtime socket ')) return error;
    const details = `runtime socket ${this.socketPath}: ${error.details}`;
    return Object.assign(new Error(`${error.code} UNAVAILABLE: ${details}`), { code: error.code, details, metadata: error.metadata });
  }

  close(): void {
    this.client.close();
  }
}
