// Every repository, searchable, a page at a time (the server summarises only the rows
// shown, so a registry of 10,000 repositories opens as fast as one of ten).
import { useEffect, useState } from 'preact/hooks';
import type { RepositoryPage } from '../../../src/registry/ui/api-types';
import { api, prefetch, takePrefetched, type Result } from '../api';
import { EmptyState, ErrorState, Loading, Pager, useLoad } from '../components';
import { RepositoryTable } from '../repository-table';
import { formatCount } from '../format';
import { links, navigate } from '../router';

const PAGE_SIZE = 50;

const pageKey = (q: string, pageNumber: number): string => `repositories\u0000${q}\u0000${pageNumber}`;
const loadPage = (q: string, pageNumber: number): Promise<Result<RepositoryPage>> => api.repositories(q, (pageNumber - 1) * PAGE_SIZE, PAGE_SIZE);

/** Starts loading a page of repositories before the app renders (main.tsx). */
export function prefetchRepositories(q: string, pageNumber: number): void {
  prefetch(pageKey(q, pageNumber), () => loadPage(q, pageNumber));
}

export function RepositoriesPage({ q, pageNumber }: { q: string; pageNumber: number }) {
  const [search, setSearch] = useState(q);
  const key = pageKey(q, pageNumber);
  const [state, reload] = useLoad(key, () => takePrefetched<RepositoryPage>(key) ?? loadPage(q, pageNumber));

  useEffect(() => setSearch(q), [q]);
  // Searching as one types, without a history entry per keystroke.
  useEffect(() => {
    if (search === q) return undefined;
    const timer = setTimeout(() => navigate(links.repositories(search), { replace: true }), 200);
    return () => clearTimeout(timer);
  }, [search, q]);

  return (
    <main id="main">
      <div class="page-head">
        <h1>Repositories</h1>
        {state.kind === 'ok' && (
          <p class="muted" data-testid="repository-count">
            {formatCount(state.value.registryTotal)} in this registry
          </p>
        )}
      </div>
      <form class="search" role="search" onSubmit={(event) => event.preventDefault()}>
        <label for="repository-search" class="visually-hidden">
          Search repositories
        </label>
        <input
          id="repository-search"
          type="search"
          placeholder="Search repositories"
          autoComplete="off"
          spellcheck={false}
          value={search}
          onInput={(event) => setSearch(event.currentTarget.value)}
        />
      </form>
      {state.kind === 'loading' && <Loading label="Loading repositories" />}
      {state.kind === 'error' && <ErrorState title="The repositories could not be loaded" message={state.message} onRetry={reload} />}
      {state.kind === 'ok' && state.value.items.length === 0 && (
        q !== '' ? (
          <EmptyState title={`No repository matches “${q}”`}>
            <p>Try a shorter part of the name.</p>
          </EmptyState>
        ) : (
          <EmptyState title="No repositories yet">
            <p>
              Push an image to see it here, for example <code>docker push {location.host}/library/nginx:1.25</code>.
            </p>
          </EmptyState>
        )
      )}
      {state.kind === 'ok' && state.value.items.length > 0 && (
        <>
          <RepositoryTable repositories={state.value.items} caption="Repositories" testId="repositories" />
          <Pager
            offset={state.value.offset}
            limit={state.value.limit}
            total={state.value.total}
            noun="Repository"
            hrefFor={(n) => links.repositories(q, n)}
          />
        </>
      )}
    </main>
  );
}
