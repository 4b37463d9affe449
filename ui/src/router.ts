// Client-side routes over the history API. Every page has its own path and reads its
// arguments from the query string (repository names contain slashes), so any view can be
// bookmarked, reloaded or opened in a new tab; the server answers each path with the app.

export type Route =
  | { readonly page: 'repositories'; readonly q: string; readonly pageNumber: number }
  | { readonly page: 'repository'; readonly name: string; readonly pageNumber: number }
  | { readonly page: 'image'; readonly name: string; readonly reference: string; readonly platform: string | null }
  | { readonly page: 'storage' }
  | { readonly page: 'login'; readonly next: string }
  | { readonly page: 'not-found' };

const positive = (value: string | null): number => {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : 1;
};

export function parseRoute(location: { pathname: string; search: string }): Route {
  const params = new URLSearchParams(location.search);
  switch (location.pathname) {
    case '/ui/':
    case '/ui/repositories':
      return { page: 'repositories', q: params.get('q') ?? '', pageNumber: positive(params.get('page')) };
    case '/ui/repository':
      return { page: 'repository', name: params.get('name') ?? '', pageNumber: positive(params.get('page')) };
    case '/ui/image':
      return { page: 'image', name: params.get('name') ?? '', reference: params.get('ref') ?? '', platform: params.get('platform') };
    case '/ui/storage':
      return { page: 'storage' };
    case '/ui/login':
      return { page: 'login', next: safeNext(params.get('next')) };
    default:
      return { page: 'not-found' };
  }
}

/** Only a path of this app: a sign-in link must not send anyone elsewhere. */
function safeNext(next: string | null): string {
  return next !== null && next.startsWith('/ui/') && !next.startsWith('/ui//') ? next : '/ui/repositories';
}

function withQuery(path: string, params: Record<string, string | number | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== null && value !== undefined && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text ? `${path}?${text}` : path;
}

export const links = {
  repositories: (q = '', pageNumber = 1) => withQuery('/ui/repositories', { q, page: pageNumber > 1 ? pageNumber : null }),
  repository: (name: string, pageNumber = 1) => withQuery('/ui/repository', { name, page: pageNumber > 1 ? pageNumber : null }),
  image: (name: string, reference: string, platform?: string | null) => withQuery('/ui/image', { name, ref: reference, platform }),
  storage: () => '/ui/storage',
  login: (next?: string) => withQuery('/ui/login', { next }),
};

const listeners = new Set<() => void>();

export function onNavigate(listener: () => void): () => void {
  listeners.add(listener);
  window.addEventListener('popstate', listener);
  return () => {
    listeners.delete(listener);
    window.removeEventListener('popstate', listener);
  };
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (options.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  for (const listener of listeners) listener();
  if (!options.replace) window.scrollTo(0, 0);
}
