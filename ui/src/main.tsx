// Entry point of the registry UI bundle.
import { render } from 'preact';
import { App } from './app';
import { prefetchRepositories } from './pages/repositories';
import { parseRoute } from './router';
import './styles.css';

// The list most visits start with: ask for it beside the session check.
const route = parseRoute(location);
if (route.page === 'repositories') prefetchRepositories(route.q, route.pageNumber);

const root = document.getElementById('app');
if (root) {
  root.textContent = '';
  render(<App />, root);
}
