// A small HTTP proxy in front of a test registry, on 127.0.0.1: it can delay requests,
// answer some with an error status or cut their connection (for retry tests), tamper
// with response bodies (flip a byte, or hold the last bytes back until told), and
// records what passed through (for concurrency and transfer counts). The Host header
// is passed on unchanged, so upload Locations a registry builds from it come back here.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';

export type Fault = 'reset' | 503 | 500 | 502;

/** What to do to a forwarded response body. */
export interface BodyTamper {
  /** Send the body with its first byte changed (same length). */
  readonly flipFirstByte?: boolean;
  /** Send all but the last `bytes` at once, the rest once `until` resolves. */
  readonly holdLast?: { readonly bytes: number; readonly until: Promise<void> };
}

export interface ProxyOptions {
  /** Milliseconds to hold each request before forwarding it. */
  readonly delayMs?: number;
  /** Decides, per request, whether to inject a fault instead of forwarding. */
  readonly fault?: (request: { method: string; path: string; seen: number }) => Fault | undefined;
  /** Decides, per request, whether (and how) to tamper with the response body. */
  readonly tamper?: (request: { method: string; path: string }) => BodyTamper | undefined;
}

/** Streams `answer` to `res`, changed as `tamper` says. */
async function sendTampered(answer: IncomingMessage, res: ServerResponse, tamper: BodyTamper): Promise<void> {
  const total = Number(answer.headers['content-length'] ?? -1);
  const held: Buffer[] = [];
  let sent = 0;
  let first = true;
  for await (const data of answer) {
    let chunk = data as Buffer;
    if (tamper.flipFirstByte && first && chunk.length > 0) {
      chunk = Buffer.from(chunk);
      chunk[0] = chunk[0]! ^ 0xff;
    }
    first = false;
    const keep = tamper.holdLast && total >= 0 ? Math.max(0, Math.min(chunk.length, sent + chunk.length - (total - tamper.holdLast.bytes))) : 0;
    if (chunk.length - keep > 0) res.write(chunk.subarray(0, chunk.length - keep));
    if (keep > 0) held.push(chunk.subarray(chunk.length - keep));
    sent += chunk.length;
  }
  if (tamper.holdLast) await tamper.holdLast.until;
  res.end(Buffer.concat(held));
}

export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly startedAt: number;
  endedAt: number;
  status: number | 'reset';
}

export interface TestProxy {
  readonly host: string;
  readonly requests: SeenRequest[];
  /** The most requests in flight at once, overall and per repository. */
  maxInFlight(): number;
  maxRepositoriesInFlight(): number;
  close(): Promise<void>;
}

function repositoryOf(path: string): string | undefined {
  const match = /^\/v2\/(.+?)\/(?:manifests|blobs|tags)\//.exec(path);
  return match?.[1];
}

export async function startProxy(upstream: string, options: ProxyOptions = {}): Promise<TestProxy> {
  const requests: SeenRequest[] = [];
  const inFlight = new Map<SeenRequest, string | undefined>();
  let maxInFlight = 0;
  let maxRepositories = 0;
  const counts = new Map<string, number>();
  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? '/';
    const key = `${req.method} ${path.split('?')[0]}`;
    const seen = (counts.get(key) ?? 0) + 1;
    counts.set(key, seen);
    const record: SeenRequest = { method: req.method ?? 'GET', path, startedAt: Date.now(), endedAt: 0, status: 0 };
    requests.push(record);
    inFlight.set(record, repositoryOf(path));
    maxInFlight = Math.max(maxInFlight, inFlight.size);
    maxRepositories = Math.max(maxRepositories, new Set([...inFlight.values()].filter((r) => r !== undefined)).size);
    const done = (status: number | 'reset'): void => {
      record.status = status;
      record.endedAt = Date.now();
      inFlight.delete(record);
    };
    const fault = options.fault?.({ method: record.method, path, seen });
    setTimeout(() => {
      if (fault === 'reset') {
        done('reset');
        req.socket.destroy();
        return;
      }
      if (fault !== undefined) {
        req.resume();
        res.writeHead(fault, { 'Content-Type': 'application/json', Connection: 'close' });
        res.end(JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: 'injected by the test proxy' }] }));
        done(fault);
        return;
      }
      const forward = http.request(`http://${upstream}${path}`, { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        const tamper = answer.statusCode === 200 ? options.tamper?.({ method: record.method, path }) : undefined;
        if (tamper) {
          sendTampered(answer, res, tamper).then(
            () => done(answer.statusCode ?? 0),
            () => {
              done('reset');
              res.destroy();
            },
          );
          return;
        }
        answer.pipe(res);
        answer.once('end', () => done(answer.statusCode ?? 0));
      });
      forward.once('error', () => {
        done('reset');
        res.destroy();
      });
      req.pipe(forward);
    }, options.delayMs ?? 0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    maxInFlight: () => maxInFlight,
    maxRepositoriesInFlight: () => maxRepositories,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
