// Workload 10: what access control costs on the hottest path. An authenticated manifest
// GET by tag (wrk, 2 threads, 16 connections, closed loop) against two fresh Berth
// processes that differ only in auth: the baseline takes Basic credentials and has no
// policy; the subject has an accessControl policy of 1,000 repository globs (each with a
// rule, plus groups) and is sent a Bearer token from its own /token. Reported as the cost
// per request (1 / rate) of each and their ratio; the issue's target is <= 1.2x.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Context, Workload } from '../lib/context.js';
import { writeSmallImages } from '../lib/images.js';
import { wrk } from '../lib/load.js';
import type { MetricDefinition } from '../lib/results.js';
import { basicAuth, startBerth, type RunningServer } from '../lib/servers.js';
import { skopeoCopy } from '../lib/skopeo.js';

const ACCEPT = 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json';
const CONNECTIONS = 16;
const RULES = 1000;

export const ACCESS_COST_METRIC: MetricDefinition = {
  id: `access-manifest-get-c${CONNECTIONS}-cost`,
  workload: '10 access control',
  label: `manifest GET cost per request, ${CONNECTIONS} conns: Bearer token + ${RULES}-glob policy vs Basic without policy`,
  unit: 'µs/req',
  better: 'lower',
  baselineName: 'berth (Basic, no policy)',
  subjectName: `berth (Bearer, ${RULES} globs)`,
};

/** A policy of `RULES` globs: teams with their own prefixes and groups, the bench user in one of them. */
export function benchPolicy(user: string): string {
  const lines = ['accessControl:', '  groups:'];
  for (let team = 0; team < 50; team++) lines.push(`    team${team}: [user-${team}-a, user-${team}-b${team === 7 ? `, ${user}` : ''}]`);
  lines.push('  admins: {users: [nobody-admin]}', '  repositories:');
  lines.push(`    "bench/**": {rules: [{groups: [team7], actions: [pull, push]}]}`);
  for (let i = 1; i < RULES; i++) {
    const team = i % 50;
    const glob = i % 3 === 0 ? `team${team}/app${i}/**` : i % 3 === 1 ? `team${team}/*/svc${i}` : `shared/lib${i}-*`;
    lines.push(`    "${glob}": {authenticated: [pull], rules: [{groups: [team${team}], actions: [pull, push]}, {users: [user-${i}], actions: [delete]}]}`);
  }
  lines.push('token:', '  issue: true', '  expiration: 1h');
  return `${lines.join('\n')}\n`;
}

export function accessWorkload(): Workload {
  let basic: RunningServer | undefined;
  let bearer: RunningServer | undefined;
  let token = '';

  const measure = async (ctx: Context, server: RunningServer, authorization: string, side: 'subject' | 'baseline'): Promise<void> => {
    const url = `${server.url}/v2/bench/manifest/manifests/v1`;
    const result = await wrk({ url, method: 'GET', headers: { Authorization: authorization, Accept: ACCEPT }, connections: CONNECTIONS, seconds: ctx.sizes.manifestSeconds, threads: 2, work: ctx.work });
    if (result.errors > 0 || result.requests === 0) throw new Error(`${side}: ${result.errors} failed requests of ${result.requests}`);
    ctx.results.record(ACCESS_COST_METRIC, side, 1e6 / result.requestsPerSecond);
    ctx.log(`  ${side === 'subject' ? 'Bearer + policy' : 'Basic, no policy'}: ${result.requestsPerSecond.toFixed(0)} req/s (${(1e6 / result.requestsPerSecond).toFixed(1)} µs/req), p99 ${result.p99Ms.toFixed(2)} ms`);
  };

  return {
    id: 'access',
    title: `10. access control: manifest GET with a Bearer token and a ${RULES}-glob policy vs Basic without policy`,
    async setup(ctx) {
      const config = path.join(ctx.work, 'access-policy.yml');
      await writeFile(config, benchPolicy(ctx.credentials.user));
      const options = { work: ctx.work, htpasswd: ctx.htpasswd, credentials: ctx.credentials };
      basic = await startBerth({ ...options, dataDir: path.join(ctx.work, 'access-basic-data') });
      bearer = await startBerth({ ...options, dataDir: path.join(ctx.work, 'access-bearer-data'), serveArgs: ['--config', config] });
      const layout = path.join(ctx.work, 'access-image');
      await writeSmallImages(layout, [{ prefix: 'v', count: 1 }]);
      for (const server of [basic, bearer]) await skopeoCopy(`oci:${layout}:v1`, `docker://${server.host}/bench/manifest:v1`, { destCreds: ctx.credentials });
      const response = await fetch(`${bearer.url}/token?service=berth-registry&scope=repository:bench/manifest:pull`, { headers: { Authorization: basicAuth(ctx.credentials) } });
      const body = (await response.json()) as { token?: string };
      if (response.status !== 200 || !body.token) throw new Error(`no token from ${bearer.host}: ${response.status}`);
      token = body.token;
      const check = await fetch(`${bearer.url}/v2/bench/manifest/manifests/v1`, { headers: { Authorization: `Bearer ${token}`, Accept: ACCEPT } });
      await check.arrayBuffer();
      if (check.status !== 200) throw new Error(`the token does not pull: ${check.status}`);
      ctx.log(`  Basic on ${basic.host}, Bearer + ${RULES}-glob policy on ${bearer.host}`);
    },
    async round(ctx) {
      await measure(ctx, bearer!, `Bearer ${token}`, 'subject');
      await measure(ctx, basic!, basicAuth(ctx.credentials), 'baseline');
    },
    async teardown() {
      await bearer?.stop();
      await basic?.stop();
    },
  };
}
