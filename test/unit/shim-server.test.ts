// The shim's gRPC server in process, between a raw gRPC client and a fake runtime that
// records the exact bytes it receives: RuntimeService and pass-through ImageService
// calls arrive byte for byte (unknown fields included), streams and errors pass
// through, PullImage is rewritten on the wire with the private registry's credentials
// and falls back to the caller's own bytes, ImageStatus/RemoveImage find images under
// their rewritten names, and a runtime that is not there yet gives UNAVAILABLE naming
// its socket until it appears.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, stat } from 'node:fs/promises';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Client, Metadata, Server, ServerCredentials, credentials, status, type ServiceError, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { pino, type Logger } from 'pino';
import { PROTO_FILE, loadCri } from '../../src/shim/cri.js';
import { requestImage, withPullCredentials, withRequestImage } from '../../src/shim/cri-messages.js';
import { parseShimConfig } from '../../src/shim/config.js';
import { Shim } from '../../src/shim/shim.js';
import { encodeLenField, encodeStringField } from '../../src/shim/wire.js';
import { waitFor } from '../support/process.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';

const DIGEST = `sha256:${'f'.repeat(64)}`;
const cri = loadCri();
const definition = loadSync(PROTO_FILE, { keepCase: false, longs: String, enums: String, defaults: false });
interface Codec {
  serialize(value: object): Buffer;
  deserialize(bytes: Buffer): Record<string, unknown>;
}
const codec = (name: string): Codec => definition[`runtime.v1.${name}`] as unknown as Codec;

interface Received {
  readonly path: string;
  readonly bytes: Buffer;
  readonly metadata: Metadata;
}

type Reply = (received: Received) => Buffer | ServiceError | Buffer[];

/** A runtime that records every call and answers from `reply` (default: empty message). */
class FakeRuntime {
  readonly received: Received[] = [];
  reply: Reply = () => Buffer.alloc(0);
  private readonly server = new Server();

  constructor() {
    const handlers = (methods: typeof cri.imageMethods): UntypedServiceImplementation =>
      Object.fromEntries(
        methods.map((method) => [
          method.name,
          method.responseStream
            ? (call: { request: Buffer; metadata: Metadata; write(b: Buffer): boolean; end(): void }) => {
                const received = { path: method.path, bytes: call.request, metadata: call.metadata };
                this.received.push(received);
                const answer = this.reply(received);
                for (const chunk of Array.isArray(answer) ? answer : []) call.write(chunk);
                call.end();
              }
            : (call: { request: Buffer; metadata: Metadata }, callback: (error: ServiceError | null, value?: Buffer) => void) => {
                const received = { path: method.path, bytes: call.request, metadata: call.metadata };
                this.received.push(received);
                const answer = this.reply(received);
                if (Buffer.isBuffer(answer)) callback(null, answer);
                else if (Array.isArray(answer)) callback(null, Buffer.concat(answer));
                else callback(answer);
              },
        ]),
      );
    this.server.addService(cri.rawService(cri.imageMethods), handlers(cri.imageMethods));
    this.server.addService(cri.rawService(cri.runtimeMethods), handlers(cri.runtimeMethods));
  }

  listen(socketPath: string): Promise<void> {
    return new Promise((resolve, reject) => this.server.bindAsync(`unix://${socketPath}`, ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve())));
  }

  stop(): void {
    this.server.forceShutdown();
  }

  calls(suffix: string): Received[] {
    return this.received.filter((r) => r.path.endsWith(suffix));
  }
}

function failure(code: status, details: string): ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: new Metadata() });
}

const identity = (value: Buffer): Buffer => value;

function unary(client: Client, method: string, request: Buffer, metadata = new Metadata()): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(method, identity, identity, request, metadata, { deadline: Date.now() + 10_000 }, (error, response) => (error ? reject(error) : resolve(response!)));
  });
}

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await removeScratchDirs();
});

/** A registry that has `library/nginx:1.25` (or the repository:tag pairs given) and nothing else. */
async function fakeRegistry(images: readonly string[] = ['library/nginx:1.25']): Promise<{ host: string; server: HttpServer }> {
  const paths = new Set(images.map((image) => `/v2/${image.replace(':', '/manifests/')}`));
  const server = createHttpServer((req, res) => {
    if (paths.has(req.url ?? '')) res.writeHead(200, { 'docker-content-digest': DIGEST, 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end();
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { host: `127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

interface SetupOptions {
  readonly fallback?: boolean;
  readonly startRuntime?: boolean;
  readonly extraConfig?: string;
  readonly log?: Logger;
  /** More registries after `address`, in priority order, each with its own user `replica<N>`. */
  readonly replicas?: number;
  /** What every fake registry has (default `library/nginx:1.25`). */
  readonly images?: readonly string[];
}

async function setup(options: SetupOptions = {}): Promise<{ runtime: FakeRuntime; client: Client; shim: Shim; registry: string; replicas: string[]; dir: string; runtimeSocket: string }> {
  const dir = await scratchDir('shim-server-');
  const runtimeSocket = path.join(dir, 'runtime.sock');
  const runtime = new FakeRuntime();
  cleanups.push(() => runtime.stop());
  if (options.startRuntime !== false) await runtime.listen(runtimeSocket);
  const { host } = await fakeRegistry(options.images);
  const replicas: string[] = [];
  for (let i = 0; i < (options.replicas ?? 0); i++) replicas.push((await fakeRegistry(options.images)).host);
  const registries = replicas.map((replica, i) => `  - {address: "http://${replica}", auth: "replica${i + 1}:pw${i + 1}", priority: ${900 - i}}`).join('\n');
  const parsed = parseShimConfig(`
shim: ${path.join(dir, 'run', 'shim.sock')}
cri: ${runtimeSocket}
address: http://${host}
auth: "admin:p:w"
force: true
fallback: ${options.fallback ?? true}
${replicas.length > 0 ? `registries:\n${registries}` : ''}
${options.extraConfig ?? ''}
`);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
  const shim = await Shim.start({ config: parsed.config, criSocket: runtimeSocket, log: options.log ?? pino({ level: 'silent' }), userAgent: 'test', runtimeWaitPollMs: 50 });
  cleanups.push(() => shim.stop());
  const client = new Client(`unix://${parsed.config.shimSocket}`, credentials.createInsecure());
  cleanups.push(() => client.close());
  return { runtime, client, shim, registry: host, replicas, dir, runtimeSocket };
}

/** A message with fields no version of the shim's proto declares. */
const UNKNOWN = Buffer.concat([encodeStringField(1, 'pod'), encodeLenField(7777, Buffer.from([1, 2, 3])), Buffer.from([0xb8, 0xe8, 0x07, 0x2a])]);

test('RuntimeService calls reach the runtime byte for byte, with metadata; responses and errors come back unchanged', async () => {
  const { runtime, client } = await setup();
  runtime.reply = (r) => (r.path.endsWith('/ContainerStatus') ? failure(status.NOT_FOUND, 'container "x" not found') : Buffer.concat([r.bytes, Buffer.from([0x10, 0x01])]));
  const metadata = new Metadata();
  metadata.set('x-request-id', 'abc');
  const response = await unary(client, '/runtime.v1.RuntimeService/RunPodSandbox', UNKNOWN, metadata);
  assert.deepEqual(response, Buffer.concat([UNKNOWN, Buffer.from([0x10, 0x01])]));
  const [call] = runtime.calls('/RunPodSandbox');
  assert.deepEqual(call!.bytes, UNKNOWN, 'unknown fields reach the runtime');
  assert.deepEqual(call!.metadata.get('x-request-id'), ['abc']);
  await assert.rejects(unary(client, '/runtime.v1.RuntimeService/ContainerStatus', Buffer.alloc(0)), (error: ServiceError) => error.code === status.NOT_FOUND && error.details === 'container "x" not found');
  runtime.reply = (r) => r.bytes;
  for (const method of cri.runtimeMethods.filter((m) => !m.responseStream)) {
    await unary(client, method.path, UNKNOWN);
  }
  assert.equal(new Set(runtime.received.map((r) => r.path)).size, cri.runtimeMethods.filter((m) => !m.responseStream).length, 'every unary RuntimeService method is forwarded');
});

test('server-streaming calls (GetContainerEvents, StreamImages) pass through message by message', async () => {
  const { runtime, client } = await setup();
  const events = [UNKNOWN, encodeStringField(1, 'second'), Buffer.alloc(0)];
  runtime.reply = () => events;
  for (const method of ['/runtime.v1.RuntimeService/GetContainerEvents', '/runtime.v1.ImageService/StreamImages']) {
    const stream = client.makeServerStreamRequest(method, identity, identity, UNKNOWN, new Metadata(), {});
    const got: Buffer[] = [];
    for await (const chunk of stream) got.push(chunk as Buffer);
    assert.deepEqual(got, events, method);
  }
});

test('PullImage: rewritten on the wire with the private credentials; unknown fields kept', async () => {
  const { runtime, client, registry } = await setup();
  runtime.reply = () => codec('PullImageResponse').serialize({ imageRef: 'sha256:abc' });
  const sandbox = encodeLenField(3, encodeStringField(2, 'host-1'));
  const request = Buffer.concat([
    codec('PullImageRequest').serialize({ image: { image: 'nginx:1.25', annotations: { k: 'v' } }, auth: { username: 'kubelet', password: 'for-docker-hub' } }),
    sandbox,
    encodeLenField(4242, Buffer.from('future field')),
  ]);
  const response = await unary(client, '/runtime.v1.ImageService/PullImage', request);
  assert.deepEqual(codec('PullImageResponse').deserialize(response), { imageRef: 'sha256:abc' });
  const [pull] = runtime.calls('/PullImage');
  const expected = withPullCredentials(withRequestImage(request, `${registry}/library/nginx:1.25`), { username: 'admin', password: 'p:w' });
  assert.deepEqual(pull!.bytes, expected, 'only the image and the credentials changed');
  const decoded = codec('PullImageRequest').deserialize(pull!.bytes);
  assert.deepEqual(decoded['auth'], { username: 'admin', password: 'p:w' });
});

test('PullImage: a failed private pull is retried with the caller\'s own bytes; fallback:false gives a clear error', async () => {
  const { runtime, client } = await setup();
  runtime.reply = (r) => (requestImage(r.bytes)!.startsWith('127.0.0.1') ? failure(status.UNKNOWN, 'failed to copy: blob sha256:1 not found') : codec('PullImageResponse').serialize({ imageRef: 'sha256:public' }));
  const request = codec('PullImageRequest').serialize({ image: { image: 'nginx:1.25' }, auth: { username: 'kubelet', password: 'x' } });
  const response = await unary(client, '/runtime.v1.ImageService/PullImage', request);
  assert.deepEqual(codec('PullImageResponse').deserialize(response), { imageRef: 'sha256:public' });
  const pulls = runtime.calls('/PullImage');
  assert.equal(pulls.length, 2);
  assert.deepEqual(pulls[1]!.bytes, request, 'the fallback is exactly what the caller sent');

  const strict = await setup({ fallback: false });
  strict.runtime.reply = runtime.reply;
  await assert.rejects(unary(strict.client, '/runtime.v1.ImageService/PullImage', request), (error: ServiceError) => {
    assert.equal(error.code, status.UNKNOWN);
    assert.match(error.details, /pull of 127\.0\.0\.1:\d+\/library\/nginx:1\.25 from registry 127\.0\.0\.1:\d+ failed and fallback is off \(fallback: false\): failed to copy: blob sha256:1 not found/);
    return true;
  });
  assert.equal(strict.runtime.calls('/PullImage').length, 1);
});

/** A per-registry counter of the shim's metrics, 0 when the registry has no value. */
async function metric(shim: Shim, name: 'failovers' | 'fallbacks' | 'pullFailures' | 'pulls', registry: string): Promise<number> {
  const { values } = await shim.metrics[name].get();
  return values.find((v) => v.labels.registry === registry)?.value ?? 0;
}

function decisionLines(lines: readonly string[]): Array<Record<string, unknown>> {
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line['msg'] === 'rewrite decision' && line['action'] === 'PullImage');
}

test('PullImage walks the plan: a replica whose pull fails costs one attempt, the next gets its own credentials; one PullImage succeeds', async () => {
  const lines: string[] = [];
  const { runtime, client, shim, registry, replicas } = await setup({ replicas: 2, log: pino({ level: 'info' }, { write: (line: string): void => void lines.push(line) }) });
  const [b, c] = replicas as [string, string];
  runtime.reply = (r) =>
    requestImage(r.bytes)!.startsWith(registry)
      ? failure(status.UNKNOWN, `failed to resolve reference "${registry}/library/nginx:1.25": dial tcp ${registry}: connect: connection refused`)
      : codec('PullImageResponse').serialize({ imageRef: `sha256:from-${requestImage(r.bytes)!.split('/')[0]}` });
  const request = codec('PullImageRequest').serialize({ image: { image: 'nginx:1.25' }, auth: { username: 'kubelet', password: 'x' } });
  const response = await unary(client, '/runtime.v1.ImageService/PullImage', request);
  assert.deepEqual(codec('PullImageResponse').deserialize(response), { imageRef: `sha256:from-${b}` });
  const pulls = runtime.calls('/PullImage');
  assert.deepEqual(pulls.map((p) => requestImage(p.bytes)), [`${registry}/library/nginx:1.25`, `${b}/library/nginx:1.25`], 'the third replica and the original were not needed');
  assert.deepEqual(pulls[0]!.bytes, withPullCredentials(withRequestImage(request, `${registry}/library/nginx:1.25`), { username: 'admin', password: 'p:w' }));
  assert.deepEqual(pulls[1]!.bytes, withPullCredentials(withRequestImage(request, `${b}/library/nginx:1.25`), { username: 'replica1', password: 'pw1' }), 'each registry gets its own credentials');
  assert.equal(await metric(shim, 'failovers', registry), 1);
  assert.equal(await metric(shim, 'pullFailures', registry), 1);
  assert.equal(await metric(shim, 'pulls', b), 1);
  assert.equal(await metric(shim, 'fallbacks', registry), 0);
  const decisions = decisionLines(lines);
  assert.deepEqual(
    decisions.map((d) => [d['reason'], d['result'], d['registry'], d['failed'], d['level']]),
    [
      ['present', `${registry}/library/nginx:1.25`, registry, undefined, 30],
      ['failover', `${b}/library/nginx:1.25`, b, registry, 40],
    ],
  );
  assert.deepEqual(decisions[0]!['plan'], [`${registry}/library/nginx:1.25`, `${b}/library/nginx:1.25`, `${c}/library/nginx:1.25`, 'nginx:1.25']);
  assert.match(String(decisions[1]!['error']), /connection refused/);
  assert.ok(!lines.some((line) => line.includes('pw1') || line.includes('p:w')), 'no password in the log');
});

test('PullImage: every replica failing falls back to the original; with fallback: false the error names each failed pull', async () => {
  const replicaFailure = (r: Received): ServiceError | Buffer =>
    requestImage(r.bytes)!.startsWith('127.0.0.1') ? failure(status.UNKNOWN, `failed to copy: ${requestImage(r.bytes)!.split('/')[0]} reset by peer`) : codec('PullImageResponse').serialize({ imageRef: 'sha256:public' });
  const request = codec('PullImageRequest').serialize({ image: { image: 'nginx:1.25' } });
  const open = await setup({ replicas: 1 });
  open.runtime.reply = replicaFailure;
  assert.deepEqual(codec('PullImageResponse').deserialize(await unary(open.client, '/runtime.v1.ImageService/PullImage', request)), { imageRef: 'sha256:public' });
  assert.deepEqual(open.runtime.calls('/PullImage').map((p) => requestImage(p.bytes)), [`${open.registry}/library/nginx:1.25`, `${open.replicas[0]}/library/nginx:1.25`, 'nginx:1.25']);
  assert.deepEqual(open.runtime.calls('/PullImage')[2]!.bytes, request, 'the fallback is exactly what the caller sent');
  assert.equal(await metric(open.shim, 'failovers', open.registry), 1);
  assert.equal(await metric(open.shim, 'fallbacks', open.replicas[0]!), 1);
  assert.equal(await metric(open.shim, 'pulls', 'original'), 1);

  const strict = await setup({ replicas: 1, fallback: false });
  strict.runtime.reply = replicaFailure;
  const [a, b] = [strict.registry, strict.replicas[0]!];
  await assert.rejects(unary(strict.client, '/runtime.v1.ImageService/PullImage', request), (error: ServiceError) => {
    assert.equal(error.code, status.UNKNOWN);
    assert.equal(
      error.details,
      `pull of ${b}/library/nginx:1.25 from registry ${b} failed and fallback is off (fallback: false): failed to copy: ${b} reset by peer; before that, the pull of ${a}/library/nginx:1.25 from ${a} failed: failed to copy: ${a} reset by peer`,
    );
    return true;
  });
  assert.equal(strict.runtime.calls('/PullImage').length, 2, 'the original was not asked');
});

test("PullImage: a failure of the runtime's own gets one more try from the same registry, and only one", async () => {
  const lines: string[] = [];
  const { runtime, client, shim, registry, replicas } = await setup({ replicas: 2, log: pino({ level: 'info' }, { write: (line: string): void => void lines.push(line) }) });
  const [b, c] = replicas as [string, string];
  let bFailures = 2;
  runtime.reply = (r) => {
    const image = requestImage(r.bytes)!;
    if (image.startsWith(registry)) return failure(status.UNKNOWN, `failed to pull and unpack image "${image}": failed to read expected number of bytes: unexpected EOF`);
    if (image.startsWith(b) && bFailures-- > 0) {
      return failure(status.NOT_FOUND, `failed to pull and unpack image "${image}": failed to prepare extraction snapshot "extract-1 sha256:68d8": parent snapshot sha256:cafd does not exist: not found`);
    }
    return codec('PullImageResponse').serialize({ imageRef: `sha256:from-${image.split('/')[0]}` });
  };
  const pull = async (): Promise<unknown> => codec('PullImageResponse').deserialize(await unary(client, '/runtime.v1.ImageService/PullImage', codec('PullImageRequest').serialize({ image: { image: 'nginx:1.25' } })));
  // b fails twice in the runtime: its one retry fails too, and c serves.
  assert.deepEqual(await pull(), { imageRef: `sha256:from-${c}` });
  assert.deepEqual(runtime.calls('/PullImage').map((p) => requestImage(p.bytes)!.split('/')[0]), [registry, b, b, c]);
  assert.deepEqual(
    decisionLines(lines).map((d) => `${d['reason']}:${d['registry']}:${d['failed'] ?? ''}`),
    [`present:${registry}:`, `failover:${b}:${registry}`, `runtime-retry:${b}:${b}`, `failover:${c}:${b}`],
  );
  assert.equal(await metric(shim, 'failovers', registry), 1);
  assert.equal(await metric(shim, 'failovers', b), 1, 'the retry is not a failover; moving on to c is');
  // Next time b's runtime fails once: its retry serves.
  bFailures = 1;
  runtime.received.length = 0;
  assert.deepEqual(await pull(), { imageRef: `sha256:from-${b}` });
  assert.deepEqual(runtime.calls('/PullImage').map((p) => requestImage(p.bytes)!.split('/')[0]), [registry, b, b]);
  assert.equal(await metric(shim, 'pulls', b), 1);
});

test('PullImage: a registry of a cached plan whose breaker opened meanwhile is passed over', async () => {
  const lines: string[] = [];
  const { runtime, client, registry, replicas } = await setup({
    replicas: 2,
    images: ['library/nginx:1.25', 'library/redis:7'],
    extraConfig: 'breaker: {failureThreshold: 1, resetTimeout: 1h}',
    log: pino({ level: 'info' }, { write: (line: string): void => void lines.push(line) }),
  });
  const [b, c] = replicas as [string, string];
  let failFirst = false;
  runtime.reply = (r) => {
    const image = requestImage(r.bytes)!;
    if (image.startsWith(registry) && (failFirst || image.includes('redis'))) return failure(status.UNKNOWN, 'failed to copy: httpReadSeeker: failed open: unexpected status code 404 Not Found');
    if (image.startsWith(b) && image.includes('redis')) return failure(status.UNKNOWN, `dial tcp ${b}: connect: connection refused`);
    return codec('PullImageResponse').serialize({ imageRef: 'sha256:ok' });
  };
  const pull = (image: string): Promise<Buffer> => unary(client, '/runtime.v1.ImageService/PullImage', codec('PullImageRequest').serialize({ image: { image } }));
  await pull('nginx:1.25'); // plan [a, b, c, original], cached; served by a
  await pull('redis:7'); // a fails, b is refused (its breaker opens: threshold 1), c serves
  failFirst = true;
  await pull('nginx:1.25'); // the cached plan: a is asked again and answers, its pull fails, b is passed over, c serves
  assert.deepEqual(runtime.calls('/PullImage').map((p) => requestImage(p.bytes)).slice(-2), [`${registry}/library/nginx:1.25`, `${c}/library/nginx:1.25`]);
  const last = decisionLines(lines).at(-1)!;
  assert.equal(last['reason'], 'failover');
  assert.deepEqual(last['skipped'], [b]);
  assert.equal(last['failed'], registry);
});

test('ImageStatus and RemoveImage: the original name first, then the rewritten one; RemoveImage uses the image ID', async () => {
  const { runtime, client, registry } = await setup();
  const rewritten = `${registry}/library/nginx:1.25`;
  const image = { id: 'sha256:0123', repoTags: [rewritten] };
  runtime.reply = (r) => {
    if (r.path.endsWith('/ImageStatus')) return codec('ImageStatusResponse').serialize(requestImage(r.bytes) === rewritten ? { image } : {});
    return Buffer.alloc(0);
  };
  const statusRequest = Buffer.concat([codec('ImageStatusRequest').serialize({ image: { image: 'nginx:1.25' }, verbose: true }), encodeLenField(99, Buffer.from('x'))]);
  const response = codec('ImageStatusResponse').deserialize(await unary(client, '/runtime.v1.ImageService/ImageStatus', statusRequest));
  assert.deepEqual((response['image'] as Record<string, unknown>)['id'], 'sha256:0123');
  assert.deepEqual(runtime.calls('/ImageStatus').map((r) => requestImage(r.bytes)), ['nginx:1.25', rewritten]);
  assert.deepEqual(runtime.calls('/ImageStatus')[1]!.bytes, withRequestImage(statusRequest, rewritten), 'verbose flag and unknown fields kept');

  await unary(client, '/runtime.v1.ImageService/RemoveImage', codec('RemoveImageRequest').serialize({ image: { image: 'nginx:1.25' } }));
  assert.deepEqual(runtime.calls('/RemoveImage').map((r) => requestImage(r.bytes)), ['sha256:0123']);

  // Not on the node under any name: the runtime's own answer, and RemoveImage passes through.
  const unknown = codec('ImageStatusResponse').deserialize(await unary(client, '/runtime.v1.ImageService/ImageStatus', codec('ImageStatusRequest').serialize({ image: { image: 'redis' } })));
  assert.equal(unknown['image'], undefined);
  await unary(client, '/runtime.v1.ImageService/RemoveImage', codec('RemoveImageRequest').serialize({ image: { image: 'redis' } }));
  assert.equal(requestImage(runtime.calls('/RemoveImage')[1]!.bytes), 'redis');
});

test('ImageStatus after a pull through the shim: the cached rewritten name first, one runtime call; the original again once the node lost it', async () => {
  const { runtime, client, registry } = await setup();
  const rewritten = `${registry}/library/nginx:1.25`;
  let onNode = true;
  runtime.reply = (r) => {
    if (r.path.endsWith('/ImageStatus')) return codec('ImageStatusResponse').serialize(onNode && requestImage(r.bytes) === rewritten ? { image: { id: 'sha256:0123', repoTags: [rewritten] } } : {});
    if (r.path.endsWith('/PullImage')) return codec('PullImageResponse').serialize({ imageRef: 'sha256:0123' });
    return Buffer.alloc(0);
  };
  await unary(client, '/runtime.v1.ImageService/PullImage', codec('PullImageRequest').serialize({ image: { image: 'nginx:1.25' } }));
  assert.equal(requestImage(runtime.calls('/PullImage')[0]!.bytes), rewritten, 'the pull was rewritten (and its decision cached)');

  const statusRequest = codec('ImageStatusRequest').serialize({ image: { image: 'docker.io/library/nginx:1.25' }, verbose: true });
  const response = codec('ImageStatusResponse').deserialize(await unary(client, '/runtime.v1.ImageService/ImageStatus', statusRequest));
  assert.equal((response['image'] as Record<string, unknown>)['id'], 'sha256:0123');
  assert.deepEqual(runtime.calls('/ImageStatus').map((r) => requestImage(r.bytes)), [rewritten]);
  assert.deepEqual(runtime.calls('/ImageStatus')[0]!.bytes, withRequestImage(statusRequest, rewritten), 'verbose flag kept');

  // Removed from the node behind the shim's back: the original name is asked, and the
  // rewritten name is not asked twice.
  onNode = false;
  const gone = codec('ImageStatusResponse').deserialize(await unary(client, '/runtime.v1.ImageService/ImageStatus', statusRequest));
  assert.equal(gone['image'], undefined);
  assert.deepEqual(runtime.calls('/ImageStatus').slice(1).map((r) => requestImage(r.bytes)), [rewritten, 'docker.io/library/nginx:1.25']);
});

test('a runtime socket that is not there yet: UNAVAILABLE naming it, then service once it appears, with its mode', async () => {
  const { runtime, client, shim, runtimeSocket } = await setup({ startRuntime: false });
  await assert.rejects(unary(client, '/runtime.v1.RuntimeService/Version', Buffer.alloc(0)), (error: ServiceError) => {
    assert.equal(error.code, status.UNAVAILABLE);
    assert.ok(error.details.includes(`runtime socket ${runtimeSocket}`), error.details);
    return true;
  });
  await runtime.listen(runtimeSocket);
  await chmod(runtimeSocket, 0o600);
  await Promise.race([shim.runtimeReady, new Promise((_, reject) => setTimeout(() => reject(new Error('the shim did not see the runtime socket within 10 s')), 10_000).unref())]);
  assert.equal((await stat(shim.socketPath)).mode & 0o777, 0o600);
  await waitFor('the runtime through the shim', async () => (await unary(client, '/runtime.v1.RuntimeService/Version', Buffer.alloc(0)).then(() => true)), 10_000);
});

test('a cache stats line every statsLogInterval; none with disableStats', async () => {
  const lines: string[] = [];
  const sink = { write: (line: string): void => void lines.push(line) };
  await setup({ extraConfig: 'cache: {statsLogInterval: 50ms}', log: pino({ level: 'info' }, sink) });
  await waitFor('two stats lines', () => (lines.filter((l) => l.includes('"msg":"cache stats"')).length >= 2 ? true : undefined), 5000);
  assert.match(lines.find((l) => l.includes('cache stats'))!, /"cache":\{"entries":0,"hits":0,"misses":0,"enabled":true\}/);
  const quiet: string[] = [];
  await setup({ extraConfig: 'cache: {statsLogInterval: 50ms, disableStats: true}', log: pino({ level: 'info' }, { write: (line: string): void => void quiet.push(line) }) });
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(quiet.filter((l) => l.includes('cache stats')).length, 0);
});
