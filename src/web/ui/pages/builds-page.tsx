import { useEffect, useRef } from 'preact/hooks';
import type { BuildRow } from '../../api-types.ts';
import { ErrorNote, Loading } from '../components/notes.tsx';
import { formatTime } from '../format.ts';
import { buildPath } from '../route-match.ts';
import { Link, type PageProps } from '../router.tsx';
import { useLoad } from '../use-load.ts';
import { formatDuration } from './builds-duration.ts';
import { useBuildLog } from './builds-log.ts';
import { BuildBadge, isLive } from './builds-state.tsx';

/** /ui/builds/<id>: one build, its timing and result, and its whole log, followed live while it runs. */
export function BuildPage(props: PageProps) {
  const id = props.params.id;
  const build = useLoad((api) => api.get<BuildRow>(`/builds/${encodeURIComponent(id)}`), [id]);
  const log = useBuildLog(id);
  // The log's answers carry the state: when it moves on, the build's row (timing, tags, digest) is read again.
  useEffect(() => {
    if (log.state && build.data && log.state !== build.data.state) build.reload();
  }, [log.state, build.data?.state]);
  return (
    <section aria-labelledby="build-title">
      {build.data && (
        <p class="crumbs">
          <Link href={`${buildPath('/ui/r/:name+', { name: build.data.repository })}?tab=builds`}>{build.data.repository}</Link>
        </p>
      )}
      <h1 id="build-title" tabIndex={-1}>
        Build {id}
      </h1>
      {build.error && <ErrorNote error={build.error} what="Build" />}
      {!build.data && !build.error && <Loading what="the build" />}
      {build.data && <BuildFacts build={build.data} />}
      <h2 id="log-title">Log</h2>
      {log.error && <ErrorNote error={log.error} what="Log" />}
      <LogView text={log.text} live={log.state === null || isLive(log.state)} />
    </section>
  );
}

function BuildFacts({ build }: { build: BuildRow }) {
  return (
    <dl class="facts">
      <dt>State</dt>
      <dd>
        <BuildBadge state={build.state} />
      </dd>
      {build.error && (
        <>
          <dt>Error</dt>
          <dd class="error">{build.error}</dd>
        </>
      )}
      <dt>Commit</dt>
      <dd>
        <code>{build.commit ?? build.ref}</code> ({build.ref})
      </dd>
      <dt>Trigger</dt>
      <dd>{build.trigger}</dd>
      <dt>Queued</dt>
      <dd>{formatTime(build.queuedAt)}</dd>
      <dt>Started</dt>
      <dd>{formatTime(build.startedAt)}</dd>
      <dt>Finished</dt>
      <dd>{formatTime(build.finishedAt)}</dd>
      <dt>Duration</dt>
      <dd>{build.startedAt ? formatDuration(build.startedAt, build.finishedAt) : '—'}</dd>
      <dt>Tags</dt>
      <dd>{build.tags.length ? build.tags.map((tag) => <code key={tag} class="scope">{tag}</code>) : '—'}</dd>
      <dt>Digest</dt>
      <dd>
        {build.digest ? (
          <Link href={buildPath('/ui/r/:name+/-/manifest/:reference', { name: build.repository, reference: build.digest })}>
            <code class="wrap">{build.digest}</code>
          </Link>
        ) : (
          '—'
        )}
      </dd>
    </dl>
  );
}

/** The log, kept scrolled to its end while it grows unless the reader scrolled up. */
function LogView({ text, live }: { text: string; live: boolean }) {
  const ref = useRef<HTMLPreElement>(null);
  const pinned = useRef(true);
  useEffect(() => {
    const pre = ref.current;
    if (pre && pinned.current) pre.scrollTop = pre.scrollHeight;
  }, [text]);
  const onScroll = () => {
    const pre = ref.current;
    if (pre) pinned.current = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 8;
  };
  return (
    <>
      <pre ref={ref} class="log" role="log" aria-labelledby="log-title" tabIndex={0} onScroll={onScroll}>
        {text}
      </pre>
      <p class="note" role="status">
        {live ? 'Following the log…' : 'The build has finished; this is its whole log.'}
      </p>
    </>
  );
}
