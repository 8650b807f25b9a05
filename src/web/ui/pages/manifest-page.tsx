import type { ManifestView } from '../../api-types.ts';
import { ErrorNote, Loading } from '../components/notes.tsx';
import { humanSize } from '../format.ts';
import { buildPath } from '../route-match.ts';
import { Link, type PageProps } from '../router.tsx';
import { useLoad } from '../use-load.ts';
import { ChildrenTable, ConfigSection, HistoryTable, LayersTable, ReferrersTable } from './manifest-parts.tsx';

/** One manifest: what it is, its layers and config, the platforms of an index, and what refers to it. */
export function ManifestPage(props: PageProps) {
  const { name: repository, reference } = props.params;
  const view = useLoad((api) => api.get<ManifestView>('/manifest', { repository, reference }), [repository, reference]);
  const manifestHref = (digest: string) => buildPath('/ui/r/:name+/-/manifest/:reference', { name: repository, reference: digest });
  const data = view.data;
  return (
    <section>
      <p class="crumbs">
        <Link href="/ui/">Repositories</Link> / <Link href={buildPath('/ui/r/:name+', { name: repository })}>{repository}</Link>
      </p>
      <h1 tabIndex={-1} class="repo-name">
        {repository}:{reference}
      </h1>
      {view.error && <ErrorNote error={view.error} what="Could not read the manifest" />}
      {view.loading && !data && <Loading what="the manifest" />}
      {data && (
        <>
          <dl class="facts">
            <dt>Digest</dt>
            <dd>
              <code class="wrap">{data.digest}</code>
            </dd>
            <dt>Media type</dt>
            <dd>{data.mediaType}</dd>
            {data.artifactType && (
              <>
                <dt>Artifact type</dt>
                <dd>{data.artifactType}</dd>
              </>
            )}
            <dt>Size</dt>
            <dd>{data.partial ? `at least ${humanSize(data.size)} (not every child was read)` : humanSize(data.size)}</dd>
            <dt>Tags</dt>
            <dd>
              {data.tags.length ? data.tags.join(', ') : 'none (untagged)'}
              {data.tagsTotal !== undefined && ` (the first ${data.tags.length} of ${data.tagsTotal})`}
            </dd>
          </dl>
          {data.children.length > 0 && <ChildrenTable rows={data.children} href={manifestHref} />}
          {data.layers.length > 0 && <LayersTable rows={data.layers} />}
          {data.config && <ConfigSection config={data.config} />}
          {data.config && data.config.history.length > 0 && <HistoryTable rows={data.config.history} />}
          <ReferrersTable rows={data.referrers} href={manifestHref} />
          {data.referrersTotal !== undefined && <p>The first {data.referrers.length} of {data.referrersTotal} referrers.</p>}
        </>
      )}
    </section>
  );
}
