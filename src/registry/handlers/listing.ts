// GET /v2/_catalog and GET /v2/<name>/tags/list, with `n`/`last` pagination and a
// `Link: <...>; rel="next"` header when more entries follow. The catalog lists the
// repositories the caller may pull; tags need pull (the route table says so).
import { paginate } from '../../storage/repository-catalog.js';
import type { RequestContext } from '../context.js';
import { RegistryError } from '../errors.js';
import { parsePageSize, sendJson } from '../http-util.js';

function nextLink(base: string, last: string, n: number): string {
  return `<${base}?last=${encodeURIComponent(last)}&n=${n}>; rel="next"`;
}

function page(ctx: RequestContext, all: readonly string[], linkBase: string): { items: string[]; headers: Record<string, string> } {
  const n = parsePageSize(ctx.query.get('n'), ctx.settings.maxPageSize);
  const last = ctx.query.get('last') ?? undefined;
  const { items, more } = paginate(all, last, n);
  const headers: Record<string, string> = {};
  if (more && items.length > 0) headers['Link'] = nextLink(linkBase, items[items.length - 1]!, n ?? items.length);
  return { items, headers };
}

export async function handleCatalog(ctx: RequestContext): Promise<void> {
  // Only what the caller may pull: the names of other repositories are not its business.
  const visible = (await ctx.storage.listRepositories()).filter((repository) => ctx.access.listable(repository));
  const { items, headers } = page(ctx, visible, '/v2/_catalog');
  sendJson(ctx.res, 200, { repositories: items }, headers);
}

export async function handleTags(ctx: RequestContext, name: string): Promise<void> {
  const tags = await ctx.storage.listTags(name);
  if (tags === undefined) throw new RegistryError('NAME_UNKNOWN', undefined, { name });
  const { items, headers } = page(ctx, tags, `/v2/${name}/tags/list`);
  sendJson(ctx.res, 200, { name, tags: items }, headers);
}
