// The state of an upload session carried in its Location URL (`?_state=`), signed with
// the registry's HTTP secret, as distribution does. Any replica that shares the secret
// can continue any session: the bytes and the session live in the storage, and the
// signed offset tells a replica (cheaply) whether what it remembers of the session is
// current. The signature also binds the session to its repository.
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface UploadState {
  readonly name: string;
  readonly id: string;
  /** Bytes the session had received when this state was issued. */
  readonly offset: number;
}

export type DecodedState = { readonly ok: true; readonly state: UploadState } | { readonly ok: false; readonly reason: string };

export class UploadStateCodec {
  constructor(private readonly secret: Buffer) {}

  encode(state: UploadState): string {
    const payload = Buffer.from(JSON.stringify({ n: state.name, u: state.id, o: state.offset })).toString('base64url');
    return `${payload}.${this.sign(payload)}`;
  }

  decode(token: string): DecodedState {
    const dot = token.indexOf('.');
    if (dot <= 0) return { ok: false, reason: 'malformed upload state' };
    const payload = token.slice(0, dot);
    const given = Buffer.from(token.slice(dot + 1), 'base64url');
    const expected = Buffer.from(this.sign(payload), 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'upload state signature does not match' };
    try {
      const parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { n?: unknown; u?: unknown; o?: unknown };
      if (typeof parsed.n !== 'string' || typeof parsed.u !== 'string' || typeof parsed.o !== 'number' || !Number.isSafeInteger(parsed.o) || parsed.o < 0) {
        return { ok: false, reason: 'malformed upload state' };
      }
      return { ok: true, state: { name: parsed.n, id: parsed.u, offset: parsed.o } };
    } catch {
      return { ok: false, reason: 'malformed upload state' };
    }
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.secret).update(payload).digest('base64url');
  }
}
