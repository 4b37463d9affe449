// A fixed-rate (open-loop) HTTP load generator: requests arrive as a Poisson process at
// `--rate` per second, each sent at its arrival time on one of `--connections`
// keep-alive connections (taken in turn, so all of them carry load). Unlike a
// closed loop (wrk, hey without -q), arrivals do not wait for answers, and unlike
// `hey -q` (one ticker per worker, all started together) they do not come in
// synchronised bursts of one request per connection. Runs as its own process; prints
// one JSON line: achieved rate, latency percentiles, errors, and arrivals dropped because
// more than 4 x connections requests were already outstanding (a saturated server).
// Usage: node paced-load.js --url URL --method GET|HEAD --rate R --connections C --seconds S [--header "K: V"]...
import { Agent, request } from 'node:http';

interface Options {
  url: URL;
  method: string;
  rate: number;
  connections: number;
  seconds: number;
  headers: Record<string, string>;
}

function parse(argv: readonly string[]): Options {
  const options: Partial<Options> & { headers: Record<string, string> } = { headers: {} };
  for (let i = 0; i < argv.length; i += 2) {
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${argv[i]} needs a value`);
    switch (argv[i]) {
      case '--url':
        options.url = new URL(value);
        break;
      case '--method':
        options.method = value;
        break;
      case '--rate':
        options.rate = Number(value);
        break;
      case '--connections':
        options.connections = Number(value);
        break;
      case '--seconds':
        options.seconds = Number(value);
        break;
      case '--header': {
        const colon = value.indexOf(':');
        options.headers[value.slice(0, colon).trim()] = value.slice(colon + 1).trim();
        break;
      }
      default:
        throw new Error(`unknown argument ${argv[i]}`);
    }
  }
  const { url, method, rate, connections, seconds } = options;
  if (!url || !method || !(rate! > 0) || !(connections! > 0) || !(seconds! > 0)) throw new Error('need --url --method --rate --connections --seconds');
  return { url, method, rate: rate!, connections: connections!, seconds: seconds!, headers: options.headers };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

async function main(): Promise<void> {
  const options = parse(process.argv.slice(2));
  // fifo: a free connection that has waited longest goes first, so load spreads over all of them.
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections, scheduling: 'fifo' });
  const latencies: number[] = [];
  const lags: number[] = [];
  let errors = 0;
  let dropped = 0;
  let inFlight = 0;
  // A server that cannot keep up would otherwise collect an unbounded queue here.
  const maxOutstanding = options.connections * 4;
  let recording = false;

  const send = (intendedAt: number): void => {
    const sentAt = performance.now();
    const record = recording;
    inFlight += 1;
    const finish = (ok: boolean): void => {
      inFlight -= 1;
      if (!record) return;
      if (!ok) errors += 1;
      else latencies.push(performance.now() - sentAt);
      lags.push(sentAt - intendedAt);
    };
    const req = request(options.url, { method: options.method, headers: options.headers, agent }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => finish((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300));
      res.on('error', () => finish(false));
    });
    req.on('error', () => finish(false));
    req.end();
  };

  // Open every connection first, so connection setup is not measured.
  await Promise.all(
    Array.from(
      { length: options.connections },
      () =>
        new Promise<void>((resolve) => {
          const req = request(options.url, { method: options.method, headers: options.headers, agent }, (res) => {
            res.resume();
            res.on('end', resolve);
          });
          req.on('error', () => resolve());
          req.end();
        }),
    ),
  );

  const warmupMs = 1000;
  const began = performance.now();
  const endAt = began + warmupMs + options.seconds * 1000;
  let next = began;
  const meanGapMs = 1000 / options.rate;
  let measuredFrom = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      if (!recording && now - began >= warmupMs) {
        recording = true;
        measuredFrom = now;
      }
      // Send everything due by now; timers fire at ~1 ms granularity, so a few go at once.
      while (next <= now && next < endAt) {
        if (inFlight < maxOutstanding) send(next);
        else if (recording) dropped += 1;
        next += -Math.log(1 - Math.random()) * meanGapMs;
      }
      if (next >= endAt) {
        resolve();
        return;
      }
      setTimeout(tick, Math.max(0, Math.min(1, next - performance.now())));
    };
    tick();
  });
  const sentUntil = performance.now();
  // Answers still in flight are waited for (bounded), so slow ones are not dropped.
  for (let waited = 0; inFlight > 0 && waited < 30_000; waited += 10) await new Promise((r) => setTimeout(r, 10));
  agent.destroy();
  latencies.sort((a, b) => a - b);
  lags.sort((a, b) => a - b);
  const seconds = (sentUntil - measuredFrom) / 1000;
  process.stdout.write(
    `${JSON.stringify({
      requests: latencies.length + errors,
      errors: errors + inFlight,
      dropped,
      requestsPerSecond: latencies.length / seconds,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      maxMs: latencies[latencies.length - 1] ?? Number.NaN,
      sendLagP99Ms: percentile(lags, 99),
    })}\n`,
  );
}

main().then(
  // Sockets of a slow server may still be open; the result is out, so leave now.
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  },
);
