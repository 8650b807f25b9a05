import { useEffect, useState } from 'preact/hooks';
import type { RepositoryList } from '../../api-types.ts';
import { ErrorNote, Loading } from '../components/notes.tsx';
import { buildPath } from '../route-match.ts';
import { Link, type PageProps, useRouter } from '../router.tsx';
import { useDebounced } from '../use-debounced.ts';
import { usePaged } from '../use-paged.ts';

/** The repositories the caller may pull, searched on the server as one types, a page at a time. */
export function RepositoriesPage(props: PageProps) {
  const { navigate, path } = useRouter();
  const [text, setText] = useState(props.query.get('q') ?? '');
  const q = useDebounced(text.trim(), 150);
  const list = usePaged({ load: (api, last) => api.get<RepositoryList>('/repositories', { q, n: 50, last }), rows: (page) => page.repositories }, [q]);
  // The search is in the address, so reload and back keep it.
  useEffect(() => {
    if (q !== (props.query.get('q') ?? '')) navigate(q ? `${path}?q=${encodeURIComponent(q)}` : path, { replace: true });
  }, [q]);
  const { data, error, loading } = list.first;
  return (
    <section>
      <h1 tabIndex={-1}>Repositories</h1>
      <div class="search">
        <label for="search">Search repositories</label>
        <input id="search" type="search" value={text} onInput={(event) => setText(event.currentTarget.value)} autocomplete="off" spellcheck={false} />
      </div>
      <p class="visually-hidden" role="status">
        {loading ? '' : `${list.rows.length}${list.next ? ' or more' : ''} repositories`}
      </p>
      {error && <ErrorNote error={error} what="Could not list repositories" />}
      {loading && !data && <Loading what="repositories" />}
      {data && list.rows.length === 0 && <p class="note">{q ? `No repository matches “${q}”.` : 'No repositories yet: push an image to see it here.'}</p>}
      {list.rows.length > 0 && (
        <ul class="repo-list" aria-label="Repositories" aria-busy={loading}>
          {list.rows.map((repository) => (
            <li key={repository.name}>
              <Link href={buildPath('/ui/r/:name+', { name: repository.name })}>{repository.name}</Link>
            </li>
          ))}
        </ul>
      )}
      {list.moreError && <ErrorNote error={list.moreError} what="Could not load more" />}
      {list.next && (
        <button type="button" class="more" onClick={list.more} disabled={list.moreLoading}>
          More
        </button>
      )}
    </section>
  );
}
