// HTTP(S) requests with keep-alive, per-request timeouts, redirects for reads, and TLS
// settings per registry (custom CA, or verification off for `--insecure`).
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { Readable } from 'node:stream';

export interface TlsOptions {
  /** Extra CA certificates (PEM) to trust. */
  readonly ca?: string | Buffer;
  /** Skip certificate verification (`--insecure` against an https registry). */
  readonly insecureSkipVerify?: boolean;
}

export interface TransportOptions {
  readonly tls?: TlsOptions;
  /** Connect + response-header timeout; body streams get the same idle timeout. */
  readonly timeoutMs?: number;
  readonly userAgent?: string;
  readonly maxSockets?: number;
  /** Name resolution for connections (an extra hosts table); default: the system's. */
  readonly lookup?: LookupFunction;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly url: URL;
  readonly body: IncomingMessage;
}

export interface RequestOptions {
  readonly headers?: Record<string, string>;
  /** A Buffer, or a stream (sent once; not replayable). */
  readonly body?: Buffer | Readable;
  readonly timeoutMs?: number;
  /** Follow 3xx redirects (reads only). Authorization is dropped on a host change. */
  readonly followRedirects?: boolean;
}

const MAX_REDIRECTS = 5;

export class HttpTransport {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;

  constructor(private readonly options: TransportOptions = {}) {
    const common = { keepAlive: true, maxSockets: options.maxSockets ?? 16, ...(options.lookup ? { lookup: options.lookup } : {}) };
    this.httpAgent = new http.Agent(common);
    this.httpsAgent = new https.Agent({
      ...common,
      ...(options.tls?.ca ? { ca: options.tls.ca } : {}),
      rejectUnauthorized: !options.tls?.insecureSkipVerify,
    });
  }

  async request(method: string, url: URL, options: RequestOptions = {}): Promise<HttpResponse> {
    let current = url;
    let headers = { ...options.headers };
    for (let hop = 0; ; hop++) {
      const response = await this.once(method, current, headers, options);
      const location = response.headers.location;
      if (!options.followRedirects || response.status < 300 || response.status >= 400 || !location || hop >= MAX_REDIRECTS) return response;
      response.body.resume();
      const next = new URL(location, current);
      if (next.host !== current.host) {
        const { authorization: _dropped, ...rest } = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
        headers = rest;
      }
      current = next;
    }
  }

  private once(method: string, url: URL, headers: Record<string, string>, options: RequestOptions): Promise<HttpResponse> {
    const isHttps = url.protocol === 'https:';
    const module = isHttps ? https : http;
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs ?? 30_000;
    return new Promise<HttpResponse>((resolve, reject) => {
      const request = module.request(
        url,
        {
          method,
          agent: isHttps ? this.httpsAgent : this.httpAgent,
          headers: { 'User-Agent': this.options.userAgent ?? 'berth', ...headers },
        },
        (response) => {
          clearTimeout(timer);
          // After the headers, the same limit applies to silence on the body stream. The
          // listener comes off again: keep-alive sockets serve many responses.
          const socket = response.socket;
          const onIdle = (): void => {
            response.destroy(new TimeoutError(`no data from ${url.host} for ${timeoutMs} ms`));
          };
          socket.setTimeout(timeoutMs);
          socket.on('timeout', onIdle);
          const clear = (): void => {
            socket.setTimeout(0);
            socket.off('timeout', onIdle);
          };
          response.once('end', clear);
          response.once('close', clear);
          resolve({ status: response.statusCode ?? 0, headers: response.headers, url, body: response });
        },
      );
      const timer = setTimeout(() => request.destroy(new TimeoutError(`${method} ${url.host}${url.pathname} timed out after ${timeoutMs} ms`)), timeoutMs);
      request.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      const body = options.body;
      if (body === undefined) request.end();
      else if (Buffer.isBuffer(body)) request.end(body);
      else {
        body.once('error', (error) => request.destroy(error));
        body.pipe(request);
      }
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

export class TimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
}

/** Reads a whole response body (for JSON and manifests), up to `limit` bytes. */
export async function readAll(body: IncomingMessage, limit = 32 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += (chunk as Buffer).length;
    if (total > limit) {
      body.destroy();
      throw new Error(`response body exceeds ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, total);
}
