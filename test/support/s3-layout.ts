// Reads distribution's layout in a bucket directly, with the AWS SDK (not through Berth's
// driver), so tests judge what is really stored: blobs hashed against their keys, tags
// followed to their revisions and manifests, upload sessions counted.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';

export class BucketLayout {
  /** Blobs already hashed (key and last write), so repeated checks hash only what is new. */
  private readonly hashed = new Set<string>();
  private readonly v2: string;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    rootDirectory: string,
  ) {
    const prefix = rootDirectory.replace(/^\/+|\/+$/g, '');
    this.v2 = `${prefix ? `${prefix}/` : ''}docker/registry/v2`;
  }

  async *keys(prefix: string): AsyncIterable<{ key: string; modified: number }> {
    let token: string | undefined;
    for (let page = 0; page < 10_000; page++) {
      const listed = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
      for (const object of listed.Contents ?? []) yield { key: object.Key!, modified: object.LastModified?.getTime() ?? 0 };
      if (!listed.IsTruncated) return;
      token = listed.NextContinuationToken;
    }
  }

  async read(key: string): Promise<Buffer | undefined> {
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return Buffer.from(await response.Body!.transformToByteArray());
    } catch (error) {
      if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
      throw error;
    }
  }

  async blobExists(digest: string): Promise<boolean> {
    const hex = digest.slice('sha256:'.length);
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: `${this.v2}/blobs/sha256/${hex.slice(0, 2)}/${hex}/data` }));
      return true;
    } catch (error) {
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
      throw error;
    }
  }

  /** Every blob not hashed before matches its digest; every tag under `namespace/` resolves to an intact manifest. */
  async check(namespace: string): Promise<{ blobs: number }> {
    let blobs = 0;
    for await (const { key, modified } of this.keys(`${this.v2}/blobs/sha256/`)) {
      const match = /\/([0-9a-f]{2})\/([0-9a-f]{64})\/data$/.exec(key);
      if (!match || this.hashed.has(`${key}@${modified}`)) continue;
      const bytes = await this.read(key);
      if (bytes === undefined) continue; // deleted since listed
      assert.equal(createHash('sha256').update(bytes).digest('hex'), match[2], `blob ${match[2]} does not match its digest`);
      this.hashed.add(`${key}@${modified}`);
      blobs += 1;
    }
    const repositories = `${this.v2}/repositories/${namespace}/`;
    for await (const { key } of this.keys(repositories)) {
      const tag = /^(.+)\/_manifests\/tags\/([^/]+)\/current\/link$/.exec(key.slice(repositories.length));
      if (!tag) continue;
      const target = (await this.read(key))?.toString('utf8').trim();
      if (target === undefined) continue;
      const hex = target.slice('sha256:'.length);
      const repository = `${repositories}${tag[1]}`;
      const revision = (await this.read(`${repository}/_manifests/revisions/sha256/${hex}/link`))?.toString('utf8').trim();
      assert.equal(revision, target, `tag ${tag[1]}:${tag[2]} has no revision`);
      const manifest = await this.read(`${this.v2}/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`);
      assert.ok(manifest, `tag ${tag[1]}:${tag[2]} points at a missing manifest`);
      assert.equal(`sha256:${createHash('sha256').update(manifest).digest('hex')}`, target, `tag ${tag[1]}:${tag[2]} points at a broken manifest`);
    }
    return { blobs };
  }

  /** Upload sessions (`_uploads/<id>/`) under `namespace/`. */
  async uploadSessions(namespace: string): Promise<number> {
    const sessions = new Set<string>();
    for await (const { key } of this.keys(`${this.v2}/repositories/${namespace}/`)) {
      const match = /^(.*\/_uploads\/[^/]+)\//.exec(key);
      if (match) sessions.add(match[1]!);
    }
    return sessions.size;
  }
}
