// Failures of the local image store a user can act on: one line, plus a hint.

export class StoreError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

export class ImageNotFoundError extends StoreError {
  constructor(readonly image: string) {
    super(`no such image: ${image}`, 'run `berth images` to list the local images, or `berth pull` it first');
  }
}
