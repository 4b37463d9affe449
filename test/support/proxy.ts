// A small HTTP proxy in front of a test registry, on 127.0.0.1: it can delay requests,
// answer some with an error status or cut their connection (for retry tests), and
// records what passed through (for concurrency and transfer counts). The Host header
// is passed on unchanged, so upload Locations a registry builds from it come back here.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';

export type Fault = 'reset' | 503 | 500 | 502;

export interface ProxyOptions {
  /** Milliseconds to hold each request before forwarding it. */
  readonly delayMs?: number;
  /** Decides, per request, whether to inject a fault instead of forwarding. */
  readonly fault?: (request: { method: string; path: string; seen: number }) => Fault | undefined;
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
