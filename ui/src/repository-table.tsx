// Repositories with their tag count, last push and size: the list page and the storage
// page's largest repositories.
import type { RepositorySummary } from '../../src/registry/ui/api-types';
import { Bytes, Link, RelativeTime } from './components';
import { formatCount } from './format';
import { links } from './router';

export function RepositoryTable({ repositories, caption, testId }: { repositories: readonly RepositorySummary[]; caption: string; testId: string }) {
  return (
    <table class="table responsive" data-testid={testId}>
      <caption class="visually-hidden">{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col" class="num">
            Tags
          </th>
          <th scope="col">Last push</th>
          <th scope="col" class="num">
            Size
          </th>
        </tr>
      </thead>
      <tbody>
        {repositories.map((repository) => (
          <tr key={repository.name} data-testid="repository-row">
            <th scope="row" data-label="Name">
              <Link href={links.repository(repository.name)}>{repository.name}</Link>
            </th>
            <td data-label="Tags" class="num">
              {formatCount(repository.tags)}
            </td>
            <td data-label="Last push">
              <RelativeTime iso={repository.lastPush} />
            </td>
            <td data-label="Size" class="num">
              <Bytes value={repository.size} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
