// /livez: the process answers. /readyz: storage is reachable and writable and the
// server is not shutting down; checked at most every two seconds.
import { access, constants } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import type { FilesystemStorage } from '../storage/filesystem-storage.js';

const READY_CHECK_INTERVAL_MS = 2000;

export class HealthCheck {
  shuttingDown = false;
  private checkedAt = -Infinity;
  private lastProblem: string | undefined;

  constructor(private readonly storage: FilesystemStorage) {}

  private async problem(): Promise<string | undefined> {
    if (this.shuttingDown) return 'shutting down';
    if (Date.now() - this.checkedAt < READY_CHECK_INTERVAL_MS) return this.lastProblem;
    try {
      await access(this.storage.fs.root, constants.R_OK | constants.W_OK);
      this.lastProblem = undefined;
    } catch (error) {
      this.lastProblem = `storage not writable: ${(error as NodeJS.ErrnoException).code ?? 'error'}`;
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
