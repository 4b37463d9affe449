// Robot accounts, kept in the storage itself (docker/registry/v2/_berth/robots/), one
// small object each, written through the driver: every registry process and replica
// that serves the storage (a shared S3 bucket too) sees the same robots, and a running
// registry picks up a new or deleted one within a second, without a restart or a file
// to copy to every replica. An object is created only if absent (createExclusive), so
// two admins creating the same name at once cannot both win.
import { z } from 'zod';
import { SingleFlight } from '../util/single-flight.js';
import type { StorageDriver } from './driver/driver.js';
import { BERTH_STATE_DIR } from './layout.js';
import type { RobotDirectory, RobotRecord } from './types.js';

const ROBOTS_DIR = `${BERTH_STATE_DIR}/robots`;

/** Names are path components and appear in `robot$NAME`: plain lower-case words. */
const ROBOT_NAME = /^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$/;

export function isValidRobotName(name: string): boolean {
  return ROBOT_NAME.test(name) && !name.includes('..');
}

const recordSchema = z.object({
  name: z.string(),
  repositories: z.array(z.string()),
  actions: z.array(z.string()),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  secretHash: z.string().nullable(),
});

function robotPath(name: string): string {
  return `${ROBOTS_DIR}/${name}.json`;
}

function parseRecord(content: Buffer, name: string): RobotRecord | undefined {
  try {
    const parsed = recordSchema.safeParse(JSON.parse(content.toString('utf8')));
    // A record whose name does not match its file is not trusted.
    return parsed.success && parsed.data.name === name ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export class RobotAccounts implements RobotDirectory {
  private readonly cache = new Map<string, { readonly record: RobotRecord | undefined; readonly at: number }>();
  private readonly reads = new SingleFlight<RobotRecord | undefined>();

  constructor(
    private readonly driver: StorageDriver,
    private readonly maxAgeMs = 1000,
  ) {}

  async lookup(name: string): Promise<RobotRecord | undefined> {
    if (!isValidRobotName(name)) return undefined;
    const cached = this.cache.get(name);
    if (cached && Date.now() - cached.at < this.maxAgeMs) return cached.record;
    return this.reads.run(name, async () => {
      const content = await this.driver.getContent(robotPath(name));
      const record = content && parseRecord(content, name);
      // Bounded: names come from requests, so only robots that exist are remembered.
      if (record || this.cache.has(name)) this.cache.set(name, { record, at: Date.now() });
      return record;
    });
  }

  async list(): Promise<RobotRecord[]> {
    const entries = await this.driver.list(ROBOTS_DIR);
    const names = entries.filter((entry) => !entry.isDirectory && entry.name.endsWith('.json')).map((entry) => entry.name.slice(0, -'.json'.length));
    const records = await Promise.all(names.filter(isValidRobotName).map(async (name) => {
      const content = await this.driver.getContent(robotPath(name));
      return content && parseRecord(content, name);
    }));
    return records.filter((record): record is RobotRecord => record !== undefined).sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** false when a robot of that name exists. */
  async create(record: RobotRecord): Promise<boolean> {
    if (!isValidRobotName(record.name)) throw new Error(`invalid robot name ${JSON.stringify(record.name)}`);
    const created = await this.driver.createExclusive(robotPath(record.name), `${JSON.stringify(record, null, 2)}\n`, { secret: true });
    this.cache.delete(record.name);
    return created;
  }

  /** false when there was no such robot. */
  async remove(name: string): Promise<boolean> {
    if (!isValidRobotName(name) || (await this.driver.getContent(robotPath(name))) === undefined) return false;
    await this.driver.delete(robotPath(name));
    this.cache.delete(name);
    return true;
  }
}
