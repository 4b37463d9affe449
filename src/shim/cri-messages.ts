// The edits the shim makes to CRI image requests, on the wire (see wire.ts for why).
// PullImageRequest, ImageStatusRequest and RemoveImageRequest all carry the ImageSpec
// in field 1, and the image reference is ImageSpec field 1; PullImageRequest carries
// its AuthConfig in field 2. Field numbers are upstream's (proto/api.proto).
import { editMessageField, encodeLenField, encodeStringField, readFields, readMessageField, readStringField, replaceField, setStringField } from './wire.js';

const REQUEST_IMAGE_SPEC = 1;
const PULL_REQUEST_AUTH = 2;
const IMAGE_SPEC_IMAGE = 1;

const AUTH_FIELD = { username: 1, password: 2, auth: 3, serverAddress: 4, identityToken: 5, registryToken: 6 } as const;

/** Credentials the shim puts into a PullImageRequest for a rewritten reference. */
export interface PullCredentials {
  readonly username: string;
  readonly password: string;
  /** When set, runtimes send the credentials to that host only. */
  readonly serverAddress?: string;
}

/** The image reference of a Pull/Status/Remove request, or undefined when it has none. */
export function requestImage(request: Buffer): string | undefined {
  const spec = readMessageField(request, REQUEST_IMAGE_SPEC);
  return spec && readStringField(spec, IMAGE_SPEC_IMAGE);
}

/** The same request with ImageSpec.image set to `image`; every other byte is kept. */
export function withRequestImage(request: Buffer, image: string): Buffer {
  return editMessageField(request, REQUEST_IMAGE_SPEC, (spec) => setStringField(spec, IMAGE_SPEC_IMAGE, image));
}

/** True when the PullImageRequest carries an AuthConfig with any non-empty field. */
export function pullRequestHasAuth(request: Buffer): boolean {
  const auth = readMessageField(request, PULL_REQUEST_AUTH);
  if (!auth) return false;
  return readFields(auth).some((field) => field.valueEnd > field.valueStart);
}

export function encodeAuthConfig(credentials: PullCredentials): Buffer {
  const parts: Buffer[] = [];
  if (credentials.username !== '') parts.push(encodeStringField(AUTH_FIELD.username, credentials.username));
  if (credentials.password !== '') parts.push(encodeStringField(AUTH_FIELD.password, credentials.password));
  if (credentials.serverAddress) parts.push(encodeStringField(AUTH_FIELD.serverAddress, credentials.serverAddress));
  return Buffer.concat(parts);
}

/**
 * The PullImageRequest with its AuthConfig replaced by `credentials`, or removed when
 * there are none: credentials kubelet sent for the original registry must never reach
 * another one.
 */
export function withPullCredentials(request: Buffer, credentials: PullCredentials | undefined): Buffer {
  return replaceField(request, PULL_REQUEST_AUTH, credentials ? encodeLenField(PULL_REQUEST_AUTH, encodeAuthConfig(credentials)) : undefined);
}
