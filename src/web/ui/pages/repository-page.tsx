import type { TagList } from '../../api-types.ts';
import { ErrorNote, Loading } from '../components/notes.tsx';
import { repositoryTabs } from '../repository-tabs.tsx';
import { buildPath } from '../route-match.ts';
import { Link, type PageProps } from '../router.tsx';
import { usePaged } from '../use-paged.ts';
import { TagsTable } from './tags-table.tsx';

export function RepositoryPage(props: PageProps) {
  const repository = props.params.name;
  const tabId = props.query.get('tab') ?? '';
  const tags = usePaged({ load: (api, last) => api.get<TagList>('/tags', { repository, n: 100, last }), rows: (page) => page.tags }, [repository]);
  const tab = repositoryTabs.find((candidate) => candidate.id === tabId);
  const here = buildPath('/ui/r/:name+', { name: repository });
  const { data, error, loading, reload } = tags.first;
  return (
    <section>
      <p class="crumbs">
        <Link href="/ui/">Repositories</Link>
      </p>
      <h1 tabIndex={-1} class="repo-name">
        {repository}
      </h1>
      {repositoryTabs.length > 0 && (
        <nav class="tabs" aria-label="Repository sections">
          <Link href={here} aria-current={tab ? undefined : 'page'}>
            Tags
          </Link>
          {repositoryTabs.map((candidate) => (
            <Link key={candidate.id} href={`${here}?tab=${encodeURIComponent(candidate.id)}`} aria-current={candidate === tab ? 'page' : undefined}>
              {candidate.label}
            </Link>
          ))}
        </nav>
      )}
      {tab ? (
        <tab.panel repository={repository} actions={data?.actions ?? []} />
      ) : (
        <>
          {error && <ErrorNote error={error} what="Could not list the tags" />}
          {loading && !data && <Loading what="tags" />}
          {data && <TagsTable list={{ ...data, tags: tags.rows }} onChanged={reload} />}
          {tags.moreError && <ErrorNote error={tags.moreError} what="Could not load more tags" />}
          {tags.next && (
            <button type="button" class="more" onClick={tags.more} disabled={tags.moreLoading}>
              More
            </button>
          )}
        </>
      )}
    </section>
  );
}
