// A repository's tags: what each points at, for which platforms, how big and how old;
// pull commands to copy; and, for users whose rights include it, deleting a tag or the
// image behind it (the confirmation names every other tag the delete affects).
import { useState } from 'preact/hooks';
import type { TagSummary } from '../../../src/registry/ui/api-types';
import { api, currentSession } from '../api';
import { Bytes, ConfirmDialog, CopyButton, Digest, EmptyState, ErrorState, Link, Loading, Pager, RelativeTime, useLoad } from '../components';
import { formatCount, shortDigest } from '../format';
import { mediaTypeLabel } from '../oci';
import { pullCommands } from '../pull';
import { links } from '../router';

const TAG_PAGE_SIZE = 50;

type PendingDelete = { readonly kind: 'tag'; readonly tag: TagSummary } | { readonly kind: 'manifest'; readonly tag: TagSummary };

function listOf(names: readonly string[]): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]!}`;
}

export function RepositoryPage({ name, pageNumber }: { name: string; pageNumber: number }) {
  const offset = (pageNumber - 1) * TAG_PAGE_SIZE;
  const [state, reload] = useLoad(`${name}\u0000${offset}`, () => api.tags(name, offset, TAG_PAGE_SIZE));
  const [pending, setPending] = useState<PendingDelete | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const session = currentSession();
  const user = session && !session.anonymous ? session.user : null;

  const confirmDelete = async (): Promise<string | null> => {
    if (!pending) return null;
    const result = pending.kind === 'tag' ? await api.deleteTag(name, pending.tag.tag) : await api.deleteManifest(name, pending.tag.digest);
    if (!result.ok) return result.status === 403 ? `Not allowed: ${result.message}.` : result.message;
    const removed = result.value.removedTags;
    setNotice(pending.kind === 'tag' ? `Deleted tag ${pending.tag.tag}.` : `Deleted image ${shortDigest(pending.tag.digest)}${removed.length > 0 ? ` and its tags ${listOf(removed)}` : ''}.`);
    reload();
    return null;
  };

  return (
    <main id="main">
      <nav class="breadcrumb" aria-label="Breadcrumb">
        <Link href={links.repositories()}>Repositories</Link> <span aria-hidden="true">/</span> <span aria-current="page">{name}</span>
      </nav>
      <div class="page-head">
        <h1 class="wrap">{name}</h1>
        {state.kind === 'ok' && <p class="muted">{formatCount(state.value.total)} tags</p>}
      </div>
      {notice !== null && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      {state.kind === 'loading' && <Loading label="Loading tags" />}
      {state.kind === 'error' && (
        <ErrorState
          title={state.status === 404 ? 'No such repository' : 'The tags could not be loaded'}
          message={state.status === 404 ? `The registry holds no repository named ${name}.` : state.message}
          {...(state.status === 404 ? {} : { onRetry: reload })}
        />
      )}
      {state.kind === 'ok' && state.value.items.length === 0 && (
        <EmptyState title="No tags">
          <p>This repository holds no tagged image. Untagged manifests stay until a GC that deletes untagged manifests runs.</p>
        </EmptyState>
      )}
      {state.kind === 'ok' && state.value.items.length > 0 && (
        <>
          <table class="table responsive tags" data-testid="tags">
            <caption class="visually-hidden">Tags of {name}</caption>
            <thead>
              <tr>
                <th scope="col">Tag</th>
                <th scope="col">Digest</th>
                <th scope="col">Type</th>
                <th scope="col">Platforms</th>
                <th scope="col" class="num">Size</th>
                <th scope="col">Created</th>
                <th scope="col">Pushed</th>
                <th scope="col">Pull</th>
                {state.value.canDelete && <th scope="col">Delete</th>}
              </tr>
            </thead>
            <tbody>
              {state.value.items.map((tag) => (
                <tr key={tag.tag} data-testid="tag-row" data-tag={tag.tag}>
                  <th scope="row" data-label="Tag">
                    <Link href={links.image(name, tag.tag)}>{tag.tag}</Link>
                  </th>
                  <td data-label="Digest">
                    <Digest value={tag.digest} />
                  </td>
                  <td data-label="Type">{mediaTypeLabel(tag.mediaType, tag.artifactType)}</td>
                  <td data-label="Platforms">
                    {tag.platforms.length === 0 ? (
                      <span class="muted">–</span>
                    ) : (
                      <ul class="chips" aria-label="Platforms">
                        {tag.platforms.map((platform, index) => (
                          <li key={`${platform}-${index}`} class="chip">
                            {platform}
                          </li>
                        ))}
                      </ul>
                    )}
                  </td>
                  <td data-label="Size" class="num">
                    <Bytes value={tag.size} />
                  </td>
                  <td data-label="Created">
                    <RelativeTime iso={tag.created} />
                  </td>
                  <td data-label="Pushed">
                    <RelativeTime iso={tag.pushed} />
                  </td>
                  <td data-label="Pull">
                    <span class="button-row">
                      {pullCommands(name, tag.tag, user).map((pull) => (
                        <CopyButton key={pull.tool} text={pull.command} label={pull.tool} description={`Copy the ${pull.tool} pull command for ${name}:${tag.tag}`} />
                      ))}
                    </span>
                  </td>
                  {state.value.canDelete && (
                    <td data-label="Delete">
                      <span class="button-row">
                        <button type="button" class="danger-outline" data-action="delete-tag" aria-label={`Delete tag ${tag.tag}`} onClick={() => setPending({ kind: 'tag', tag })}>
                          Tag
                        </button>
                        <button
                          type="button"
                          class="danger-outline"
                          data-action="delete-manifest"
                          aria-label={`Delete the image ${shortDigest(tag.digest)} of tag ${tag.tag}`}
                          onClick={() => setPending({ kind: 'manifest', tag })}
                        >
                          Image
                        </button>
                      </span>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
          <Pager offset={state.value.offset} limit={state.value.limit} total={state.value.total} noun="Tag" hrefFor={(n) => links.repository(name, n)} />
        </>
      )}
      {pending && (
        <ConfirmDialog
          title={pending.kind === 'tag' ? `Delete tag ${pending.tag.tag}?` : `Delete image ${shortDigest(pending.tag.digest)}?`}
          confirmLabel={pending.kind === 'tag' ? 'Delete tag' : 'Delete image'}
          onConfirm={confirmDelete}
          onClose={() => setPending(null)}
        >
          {pending.kind === 'tag' ? (
            pending.tag.sameDigest.length > 0 ? (
              <p data-testid="affected">
                The image stays: {pending.tag.sameDigest.length === 1 ? 'tag' : 'tags'} <strong>{listOf(pending.tag.sameDigest)}</strong> also{' '}
                {pending.tag.sameDigest.length === 1 ? 'points' : 'point'} at <Digest value={pending.tag.digest} />.
              </p>
            ) : (
              <p data-testid="affected">
                No other tag points at <Digest value={pending.tag.digest} />: the image stays in {name} untagged until it is deleted or a GC
                removes untagged manifests.
              </p>
            )
          ) : (
            <>
              <p data-testid="affected">
                This removes the manifest <Digest value={pending.tag.digest} /> from {name} with every tag on it:{' '}
                <strong>{listOf([pending.tag.tag, ...pending.tag.sameDigest])}</strong>.
              </p>
              <p class="muted">Its blobs are freed by the next garbage collection (Storage page).</p>
            </>
          )}
        </ConfirmDialog>
      )}
    </main>
  );
}
