// The shell: the session check, the header with navigation and sign-out, and the page
// for the current route. A missing or expired session sends the user to sign in and
// back to where they were.
import { useEffect, useState } from 'preact/hooks';
import type { SessionInfo } from '../../src/registry/ui/api-types';
import { api, onSessionChange, setSession } from './api';
import { ErrorState, Link, Loading } from './components';
import { ImagePage } from './pages/image';
import { LoginPage } from './pages/login';
import { RepositoriesPage } from './pages/repositories';
import { RepositoryPage } from './pages/repository';
import { StoragePage } from './pages/storage';
import { links, navigate, onNavigate, parseRoute, type Route } from './router';

type SessionState = { readonly kind: 'checking' } | { readonly kind: 'signed-in'; readonly session: SessionInfo } | { readonly kind: 'signed-out' } | { readonly kind: 'unreachable'; readonly message: string };

function currentPath(): string {
  return `${location.pathname}${location.search}`;
}

function Header({ session, route }: { session: SessionInfo; route: Route }) {
  const signOut = async (): Promise<void> => {
    await api.signOut();
    setSession(null);
  };
  const current = (page: Route['page']): 'page' | undefined => (route.page === page ? 'page' : undefined);
  return (
    <header class="top">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <Link href={links.repositories()} class="brand">
        Berth registry
      </Link>
      <nav aria-label="Main">
        <Link href={links.repositories()} aria-current={current('repositories')}>
          Repositories
        </Link>
        <Link href={links.storage()} aria-current={current('storage')}>
          Storage
        </Link>
      </nav>
      <span class="user">
        <span class="muted" data-testid="user">
          {session.anonymous ? 'no sign-in (authentication is off)' : session.user}
        </span>
        {!session.anonymous && (
          <button type="button" class="link" onClick={() => void signOut()}>
            Sign out
          </button>
        )}
      </span>
    </header>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'repositories':
      return <RepositoriesPage q={route.q} pageNumber={route.pageNumber} />;
    case 'repository':
      return <RepositoryPage key={route.name} name={route.name} pageNumber={route.pageNumber} />;
    case 'image':
      return <ImagePage key={`${route.name}:${route.reference}`} name={route.name} reference={route.reference} platform={route.platform} />;
    case 'storage':
      return <StoragePage />;
    case 'login':
      return null;
    case 'not-found':
      return (
        <main id="main">
          <ErrorState title="No such page" message="This address is not a page of the registry UI." />
          <p>
            <Link href={links.repositories()}>Go to the repositories</Link>
          </p>
        </main>
      );
  }
}

export function App() {
  const [route, setRoute] = useState<Route>(() => parseRoute(location));
  const [state, setState] = useState<SessionState>({ kind: 'checking' });

  useEffect(() => onNavigate(() => setRoute(parseRoute(location))), []);
  useEffect(
    () =>
      onSessionChange((session) => {
        setState(session ? { kind: 'signed-in', session } : { kind: 'signed-out' });
      }),
    [],
  );
  useEffect(() => {
    void api.session().then((result) => {
      if (result.ok) setSession(result.value);
      else if (result.status === 401) setState({ kind: 'signed-out' });
      else setState({ kind: 'unreachable', message: result.message });
    });
  }, []);
  // Signed out anywhere but the sign-in page: go there, and come back afterwards.
  useEffect(() => {
    if (state.kind === 'signed-out' && route.page !== 'login') navigate(links.login(currentPath()), { replace: true });
    if (state.kind === 'signed-in' && route.page === 'login') navigate(route.next, { replace: true });
  }, [state.kind, route.page]);
  useEffect(() => {
    const titles: Record<Route['page'], string> = {
      repositories: 'Repositories',
      repository: route.page === 'repository' ? route.name : '',
      image: route.page === 'image' ? `${route.name}:${route.reference}` : '',
      storage: 'Storage',
      login: 'Sign in',
      'not-found': 'Not found',
    };
    document.title = `${titles[route.page]} · Berth registry`;
  }, [route]);

  if (state.kind === 'checking') {
    return (
      <main id="main">
        <Loading label="Checking the session" rows={3} />
      </main>
    );
  }
  if (state.kind === 'unreachable') {
    return (
      <main id="main">
        <ErrorState title="The registry cannot be reached" message={state.message} onRetry={() => location.reload()} />
      </main>
    );
  }
  if (state.kind === 'signed-out') return route.page === 'login' ? <LoginPage next={route.next} /> : null;
  return (
    <>
      <Header session={state.session} route={route} />
      <Page route={route} />
    </>
  );
}
