// Byte-for-byte forwarding of CRI calls the shim does not change: the whole
// RuntimeService (so crictl needs one endpoint) and ListImages, StreamImages and
// ImageFsInfo. Nothing is decoded, so no field a newer kubelet sends is lost.
import { type ServiceError, type handleServerStreamingCall, type handleUnaryCall, type sendUnaryData, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { RawMethod } from './cri.js';
import type { RuntimeConnection } from './runtime-connection.js';

export function forwardUnary(runtime: RuntimeConnection, path: string): handleUnaryCall<Buffer, Buffer> {
  return (call, callback: sendUnaryData<Buffer>) => {
    runtime.unary(path, call.request, { parent: call, metadata: call.metadata }).then(
      (response) => callback(null, response),
      (error: ServiceError) => callback(error),
    );
  };
}

export function forwardServerStream(runtime: RuntimeConnection, path: string): handleServerStreamingCall<Buffer, Buffer> {
  return (call) => {
    const upstream = runtime.serverStream(path, call.request, { parent: call, metadata: call.metadata });
    upstream.on('data', (chunk: Buffer) => {
      // Backpressure: a slow reader (say, crictl events piped somewhere) pauses the runtime stream.
      if (!call.write(chunk)) {
        upstream.pause();
        call.once('drain', () => upstream.resume());
      }
    });
    upstream.on('error', (error: ServiceError) => call.emit('error', runtime.explain(error)));
    upstream.on('end', () => call.end());
    call.on('cancelled', () => upstream.cancel());
  };
}

/** Handlers for every method in `methods`, except those in `overrides`. */
export function passthroughService(runtime: RuntimeConnection, methods: readonly RawMethod[], overrides: UntypedServiceImplementation = {}): UntypedServiceImplementation {
  const handlers: UntypedServiceImplementation = {};
  for (const method of methods) {
    const own = overrides[method.name];
    if (own) handlers[method.name] = own;
    else if (method.requestStream) throw new Error(`${method.path}: client-streaming methods are not in the CRI and not forwarded`);
    else handlers[method.name] = method.responseStream ? forwardServerStream(runtime, method.path) : forwardUnary(runtime, method.path);
  }
  return handlers;
}
