// The CRI services as gRPC sees them: method paths and streaming flags from the
// hand-written proto/api.proto, every method with identity (Buffer in, Buffer out)
// serializers so requests and responses cross the shim byte for byte. The few
// messages the shim reads or builds itself get protobufjs codecs from the same file.
import { fileURLToPath } from 'node:url';
import { loadSync, type MessageTypeDefinition, type PackageDefinition, type ServiceDefinition } from '@grpc/proto-loader';
import type { ServiceDefinition as GrpcServiceDefinition, MethodDefinition as GrpcMethodDefinition } from '@grpc/grpc-js';

export const CRI_PACKAGE = 'runtime.v1';
export const IMAGE_SERVICE = `${CRI_PACKAGE}.ImageService`;
export const RUNTIME_SERVICE = `${CRI_PACKAGE}.RuntimeService`;

/** A method forwarded as raw bytes. */
export interface RawMethod {
  readonly name: string;
  readonly path: string;
  readonly responseStream: boolean;
  readonly requestStream: boolean;
}

export type RawServiceDefinition = GrpcServiceDefinition<Record<string, GrpcMethodDefinition<Buffer, Buffer>>>;

const identity = (value: Buffer): Buffer => value;

/** Decoded image as the shim reads it (proto-loader's camelCase objects). */
export interface CriImage {
  readonly id: string;
  readonly repoTags: readonly string[];
  readonly repoDigests: readonly string[];
}

export interface CriCodecs {
  encodeImageStatusRequest(image: string): Buffer;
  /** The image in an ImageStatusResponse, or undefined when the runtime does not have it. */
  decodeImageStatusResponse(bytes: Buffer): CriImage | undefined;
  decodePullImageResponse(bytes: Buffer): { imageRef: string };
}

export interface Cri {
  readonly imageMethods: readonly RawMethod[];
  readonly runtimeMethods: readonly RawMethod[];
  readonly codecs: CriCodecs;
  rawService(methods: readonly RawMethod[]): RawServiceDefinition;
}

export const PROTO_FILE = fileURLToPath(new URL('./proto/api.proto', import.meta.url));

function service(definition: PackageDefinition, name: string): ServiceDefinition {
  const found = definition[name];
  if (!found || !('path' in (Object.values(found)[0] ?? {}))) throw new Error(`${name} is not a service in ${PROTO_FILE}`);
  return found as ServiceDefinition;
}

function messageType(definition: PackageDefinition, name: string): MessageTypeDefinition<object, object> {
  const found = definition[`${CRI_PACKAGE}.${name}`];
  if (!found || !('serialize' in found)) throw new Error(`${name} is not a message in ${PROTO_FILE}`);
  return found as MessageTypeDefinition<object, object>;
}

function methodsOf(definition: ServiceDefinition): RawMethod[] {
  return Object.entries(definition).map(([name, method]) => ({
    name,
    path: method.path,
    requestStream: method.requestStream,
    responseStream: method.responseStream,
  }));
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

function field(object: object, name: string): unknown {
  return (object as Record<string, unknown>)[name];
}

let loaded: Cri | undefined;

/** Loads proto/api.proto once per process. */
export function loadCri(): Cri {
  if (loaded) return loaded;
  const definition = loadSync(PROTO_FILE, { keepCase: false, longs: String, enums: String, defaults: false, oneofs: true });
  const imageMethods = methodsOf(service(definition, IMAGE_SERVICE));
  const runtimeMethods = methodsOf(service(definition, RUNTIME_SERVICE));
  const statusRequest = messageType(definition, 'ImageStatusRequest');
  const statusResponse = messageType(definition, 'ImageStatusResponse');
  const pullResponse = messageType(definition, 'PullImageResponse');
  const codecs: CriCodecs = {
    encodeImageStatusRequest: (image) => statusRequest.serialize({ image: { image } }),
    decodeImageStatusResponse(bytes) {
      const image = field(statusResponse.deserialize(bytes), 'image');
      if (typeof image !== 'object' || image === null) return undefined;
      const id = field(image, 'id');
      if (typeof id !== 'string' || id === '') return undefined;
      return { id, repoTags: stringList(field(image, 'repoTags')), repoDigests: stringList(field(image, 'repoDigests')) };
    },
    decodePullImageResponse(bytes) {
      const imageRef = field(pullResponse.deserialize(bytes), 'imageRef');
      return { imageRef: typeof imageRef === 'string' ? imageRef : '' };
    },
  };
  const rawService = (methods: readonly RawMethod[]): RawServiceDefinition =>
    Object.fromEntries(
      methods.map((method) => [
        method.name,
        {
          path: method.path,
          requestStream: method.requestStream,
          responseStream: method.responseStream,
          requestSerialize: identity,
          requestDeserialize: identity,
          responseSerialize: identity,
          responseDeserialize: identity,
          originalName: method.name,
        },
      ]),
    );
  loaded = { imageMethods, runtimeMethods, codecs, rawService };
  return loaded;
}
