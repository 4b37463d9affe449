// The optional operations listener (`--metrics-addr`): Prometheus `/metrics`, plus
// `/livez` and `/readyz`, kept off the registry port like registry:2's debug server.
import { createServer, type Server } from 'node:http';
import type { HealthCheck } from './health.js';
import { listenOn } from '../util/listen.js';

/** Where the metrics text comes from: one registry's metrics, or every worker's, aggregated. */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

export class MetricsServer {
  readonly server: Server;

  constructor(metrics: MetricsSource, health: HealthCheck) {
    this.server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/metrics') {
        metrics.metrics().then(
          (text) => res.writeHead(200, { 'Content-Type': metrics.contentType }).end(text),
          () => res.writeHead(500).end('metrics unavailable\n'),
        );
        return;
      }
      if (path === '/livez' || path === '/readyz') {
        void health.respond(path, res);
        return;
      }
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
    });
  }

  listen(port: number, host: string): Promise<{ host: string; port: number }> {
    return listenOn(this.server, port, host);
  }


  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
