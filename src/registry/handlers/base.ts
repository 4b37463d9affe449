// GET /v2/ — the API version check every client starts with.
import type { RequestContext } from '../context.js';
import { sendJson } from '../http-util.js';

export function handleBase(ctx: RequestContext): void {
  sendJson(ctx.res, 200, {});
}
