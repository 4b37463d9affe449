// The gRPC server on the shim's unix socket: runtime.v1.ImageService (three calls
// handled by ImageService, the rest forwarded) and runtime.v1.RuntimeService (all
// forwarded), every message as raw bytes.
import { Server, ServerCredentials, type handleUnaryCall } from '@grpc/grpc-js';
import type { Cri } from './cri.js';
import { MAX_MESSAGE_BYTES, type RuntimeConnection } from './runtime-connection.js';
import { passthroughService } from './passthrough.js';

export class CriServer {
  private readonly server: Server;

  constructor(cri: Cri, runtime: RuntimeConnection, imageHandlers: Record<string, handleUnaryCall<Buffer, Buffer>>) {
    this.server = new Server({
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    });
    this.server.addService(cri.rawService(cri.imageMethods), passthroughService(runtime, cri.imageMethods, imageHandlers));
    this.server.addService(cri.rawService(cri.runtimeMethods), passthroughService(runtime, cri.runtimeMethods));
  }

  listen(socketPath: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.bindAsync(`unix://${socketPath}`, ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve()));
    });
  }

  /** Stops accepting calls; in-flight ones get `graceMs` to finish, then are cancelled. */
  close(graceMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
