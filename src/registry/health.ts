// /livez: the process answers. /readyz: the storage answers (a writable data directory,
// a reachable bucket) and the server is not shutting down; checked at most every two
// seconds. Load balancers take a replica out while /readyz says 503, and put it back
// once its storage is reachable again.
import type { ServerResponse } from 'node:http';
import type { RegistryStorage } from '../storage/types.js';

const READY_CHECK_INTERVAL_MS = 2000;

export class HealthCheck {
  shuttingDown = false;
  private checkedAt = -Infinity;
  private lastProblem: string | undefined;

  constructor(private readonly storage: RegistryStorage) {}

  private async problem(): Promise<string | undefined> {
    if (this.shuttingDown) return 'shutting down';
    if (Date.now() - this.checkedAt < READY_CHECK_INTERVAL_MS) return this.lastProblem;
    try {
      await this.storage.checkHealth();
      this.lastProblem = undefined;
    } catch (error) {
      this.lastProblem = `storage not ready: ${(error as Error).message}`;
    }
    this.checkedAt = Date.now();
    return this.lastProblem;
  }

  async respond(path: string, res: ServerResponse): Promise<void> {
    if (path === '/livez') {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok\n');
      return;
    }
    const problem = await this.problem();
    res.writeHead(problem ? 503 : 200, { 'Content-Type': 'text/plain' }).end(problem ? `${problem}\n` : 'ok\n');
  }
}
