// A CRI ImageService client over a unix socket (gRPC), so call latency is measured
// without a crictl process per call. It reads the project's runtime.v1 proto.
import { credentials, loadPackageDefinition, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import path from 'node:path';
import { PROJECT_ROOT } from './tools.js';

interface ImageStatusResponse {
  readonly image: { readonly id: string } | null;
}

type Unary<Req, Res> = (request: Req, options: { deadline: Date }, callback: (error: ServiceError | null, response: Res) => void) => void;

interface ImageServiceClient extends Client {
  ImageStatus: Unary<{ image: { image: string } }, ImageStatusResponse>;
  PullImage: Unary<{ image: { image: string }; auth?: { username: string; password: string } }, { imageRef: string }>;
  RemoveImage: Unary<{ image: { image: string } }, object>;
}

type ImageServiceConstructor = new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => ImageServiceClient;

function imageServiceConstructor(): ImageServiceConstructor {
  const definition = loadSync(path.join(PROJECT_ROOT, 'src', 'shim', 'proto', 'api.proto'), { keepCase: false, defaults: true, oneofs: true });
  const loaded = loadPackageDefinition(definition) as unknown as { runtime: { v1: { ImageService: ImageServiceConstructor } } };
  return loaded.runtime.v1.ImageService;
}

function call<Req, Res>(method: Unary<Req, Res>, client: ImageServiceClient, request: Req, timeoutMs: number): Promise<Res> {
  return new Promise((resolve, reject) => {
    method.call(client, request, { deadline: new Date(Date.now() + timeoutMs) }, (error, response) => (error ? reject(error) : resolve(response)));
  });
}

export class CriImageClient {
  private readonly client: ImageServiceClient;

  constructor(socket: string) {
    const ImageService = imageServiceConstructor();
    this.client = new ImageService(`unix://${socket}`, credentials.createInsecure());
  }

  /** The image ID, or undefined when the runtime does not have it. */
  async imageStatus(image: string): Promise<string | undefined> {
    const response = await call(this.client.ImageStatus, this.client, { image: { image } }, 10_000);
    return response.image?.id || undefined;
  }

  async pullImage(image: string, auth?: { username: string; password: string }): Promise<string> {
    const response = await call(this.client.PullImage, this.client, { image: { image }, ...(auth ? { auth } : {}) }, 600_000);
    return response.imageRef;
  }

  async removeImage(image: string): Promise<void> {
    await call(this.client.RemoveImage, this.client, { image: { image } }, 60_000);
  }

  close(): void {
    this.client.close();
  }
}
