// Workload 5: list every repository (`/v2/_catalog`) and every tag of a repository with
// 10,000 tags (`/v2/<name>/tags/list`), following `Link: rel="next"` with `n` = page
// size, as a client does. Both servers serve their own copy of one generated store.
// The client is a minimal keep-alive HTTP client on one connection. Before every
// timed listing it waits 1.1 s, past Berth's 1 s catalog freshness window, so each
// catalog listing includes Berth's walk of the tree.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { slot, type Context, type Workload } from '../lib/context.js';
import { run, sleep } from '../lib/proc.js';
import { RawHttpConnection } from '../lib/raw-http.js';
import type { MetricDefinition, Side } from '../lib/results.js';
import { basicAuth, startBerth, startDistribution, type Credentials, type RunningServer } from '../lib/servers.js';
import { repositoryName, tagName, writeListingStore } from './listing-store.js';

const common = { workload: '5 listing', unit: 'ms', better: 'lower', baselineName: 'distribution', subjectName: 'berth' } as const;
export const LIST_CATALOG: MetricDefinition = { ...common, id: 'list-catalog', label: 'list all repositories (paginated)' };
export const LIST_TAGS: MetricDefinition = { ...common, id: 'list-tags', label: 'list all tags of one repository (paginated)' };

const LISTINGS_PER_ROUND = 3;
const CACHE_WINDOW_MS = 1100;

interface Listing {
  readonly items: string[];
  readonly requests: number;
  readonly ms: number;
}

/**
 * Follows the Link chain from `first` on one keep-alive connection, with a minimal
 * client (see raw-http.ts: Node's own costs as much per request as a page takes to
 * serve). Bounded by `maxRequests`.
 */
async function listAll(server: RunningServer, first: string, key: 'repositories' | 'tags', credentials: Credentials, maxRequests: number): Promise<Listing> {
  const [host, port] = server.host.split(':') as [string, string];
  const connection = new RawHttpConnection(host, Number(port));
  try {
    const began = performance.now();
    const items: string[] = [];
    let next: string | undefined = first;
    let requests = 0;
    while (next !== undefined) {
      if (++requests > maxRequests) throw new Error(`${server.name}: more than ${maxRequests} pages listing ${first}`);
      const response = await connection.get(next, { Authorization: basicAuth(credentials) });
      if (response.status !== 200) throw new Error(`${server.name} GET ${next}: ${response.status} ${response.body.toString('utf8')}`);
      const body = JSON.parse(response.body.toString('utf8')) as Record<string, string[] | null | undefined>;
      items.push(...(body[key] ?? []));
      const link = response.headers.get('link');
      next = link ? /<([^>]+)>/.exec(link)?.[1] : undefined;
    }
    return { items, requests, ms: performance.now() - began };
  } finally {
    connection.close();
  }
}

/** Every expected entry exactly once. Order is not checked: distribution 2.8 lists tags in directory order. */
function checkListing(server: RunningServer, what: string, listing: Listing, expected: readonly string[]): void {
  if (listing.items.length !== expected.length) throw new Error(`${server.name} ${what}: ${listing.items.length} entries, expected ${expected.length}`);
  const sorted = [...listing.items].sort(byteOrder);
  for (let i = 0; i < expected.length; i++) {
    if (sorted[i] !== expected[i]) throw new Error(`${server.name} ${what}: entry ${sorted[i]} where ${expected[i]} was expected`);
  }
}

export function listingWorkload(): Workload {
  const servers: RunningServer[] = [];
  const lastListing = new Map<RunningServer, number>();
  let expectedRepositories: string[] = [];
  let expectedTags: string[] = [];

  const waitPastCache = async (server: RunningServer): Promise<void> => {
    const since = performance.now() - (lastListing.get(server) ?? 0);
    if (since < CACHE_WINDOW_MS) await sleep(CACHE_WINDOW_MS - since);
  };

  const listOnce = async (ctx: Context, server: RunningServer, side: Side): Promise<void> => {
    const page = ctx.sizes.listPageSize;
    const maxRequests = Math.ceil(Math.max(ctx.sizes.listRepositories, ctx.sizes.listTags) / page) + 10;
    await waitPastCache(server);
    const catalog = await listAll(server, `/v2/_catalog?n=${page}`, 'repositories', ctx.credentials, maxRequests);
    lastListing.set(server, performance.now());
    checkListing(server, 'catalog', catalog, expectedRepositories);
    await waitPastCache(server);
    const tags = await listAll(server, `/v2/bench/tags/tags/list?n=${page}`, 'tags', ctx.credentials, maxRequests);
    lastListing.set(server, performance.now());
    checkListing(server, 'tags', tags, expectedTags);
    ctx.results.record(LIST_CATALOG, side, catalog.ms);
    ctx.results.record(LIST_TAGS, side, tags.ms);
    ctx.log(`  ${server.name}: catalog ${catalog.items.length} in ${catalog.requests} pages ${catalog.ms.toFixed(1)} ms, tags ${tags.items.length} in ${tags.requests} pages ${tags.ms.toFixed(1)} ms`);
  };

  return {
    id: 'listing',
    title: '5. catalog and tag listing on a generated store',
    async setup(ctx) {
      const { listRepositories, listTags } = ctx.sizes;
      const store = path.join(ctx.work, 'listing-store');
      const began = performance.now();
      writeListingStore(store, listRepositories, listTags);
      ctx.log(`  generated ${listRepositories} repositories and ${listTags} tags in ${((performance.now() - began) / 1000).toFixed(1)} s`);
      expectedRepositories = [...Array.from({ length: listRepositories }, (_, i) => repositoryName(i)), 'bench/tags'].sort(byteOrder);
      expectedTags = Array.from({ length: listTags }, (_, i) => tagName(i)).sort(byteOrder);
      const copies = { berth: path.join(ctx.work, 'listing-berth'), distribution: path.join(ctx.work, 'listing-distribution') };
      for (const copy of Object.values(copies)) await run('cp', ['-a', store, copy], { timeoutMs: 600_000 });
      await rm(store, { recursive: true, force: true });
      const htpasswd = ctx.htpasswd;
      servers.push(await startBerth({ work: ctx.work, dataDir: copies.berth, htpasswd, credentials: ctx.credentials }));
      servers.push(await startDistribution({ work: ctx.work, dataDir: copies.distribution, htpasswd, credentials: ctx.credentials }));
    },
    async round(ctx, round) {
      for (const server of servers) {
        const side: Side = server.name === 'berth' ? 'subject' : 'baseline';
        await slot(ctx, 'listing', server, round, async () => {
          for (let i = 0; i < LISTINGS_PER_ROUND; i++) await listOnce(ctx, server, side);
        });
      }
    },
    async teardown() {
      await Promise.all(servers.splice(0).map((server) => server.stop()));
    },
  };
}

/** Catalog order is byte order (the spec's `last` semantics). */
function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
