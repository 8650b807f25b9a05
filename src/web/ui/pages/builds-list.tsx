import { useState } from 'preact/hooks';
import type { AutobuildRow, BuildRow } from '../../api-types.ts';
import { DataTable } from '../components/data-table.tsx';
import { ErrorNote, Loading } from '../components/notes.tsx';
import { formatTime, shortDigest } from '../format.ts';
import type { RepositoryTabProps } from '../repository-tabs.tsx';
import { Link, useRouter } from '../router.tsx';
import { useSession } from '../session.tsx';
import { useAction } from '../use-action.ts';
import { useLoad } from '../use-load.ts';
import { useFocusOnMore, usePages } from './activity-pages.ts';
import { formatDuration } from './builds-duration.ts';
import { usePolling } from './builds-polling.ts';
import { BuildBadge, isLive } from './builds-state.tsx';

const pageSize = 20;

/**
 * The "Builds" tab of a repository's page: its automated builds (with "Build now" for callers who may push)
 * and its builds, newest first, refreshed every 2 s while one is queued or running.
 */
export function RepositoryBuilds(props: RepositoryTabProps) {
  const { repository } = props;
  const autobuilds = useLoad((api) => api.get<{ autobuilds: AutobuildRow[] }>('/autobuilds', { repository }), [repository]);
  const builds = usePages(
    async (api, last) => {
      const list = await api.get<{ builds: BuildRow[]; next: string | null }>('/builds', { repository, last, n: pageSize });
      return { items: list.builds, next: list.next };
    },
    (build) => build.id,
    [repository],
  );
  usePolling(builds.refresh, 2000, builds.items.some((build) => isLive(build.state)));
  const focus = useFocusOnMore(builds.items.length);
  return (
    <section aria-labelledby="builds-title">
      <h2 id="builds-title">Automated builds</h2>
      {autobuilds.error && <ErrorNote error={autobuilds.error} what="Automated builds" />}
      {autobuilds.data && <Autobuilds rows={autobuilds.data.autobuilds} actions={props.actions} onQueued={builds.refresh} />}
      <h2>Builds</h2>
      {builds.error && <ErrorNote error={builds.error} what="Builds" />}
      {builds.loading && builds.items.length === 0 && <Loading what="builds" />}
      {!builds.loading && !builds.error && builds.items.length === 0 && <p class="note">No builds yet.</p>}
      <div ref={focus.ref}>{builds.items.length > 0 && <BuildsTable builds={builds.items} />}</div>
      {builds.more && (
        <div class="actions">
          <button type="button" onClick={() => (focus.before(), builds.loadMore())} aria-busy={builds.loading}>
            More
          </button>
        </div>
      )}
    </section>
  );
}

/** Whether to offer "Build now": the caller's actions here, or, when those are unknown (no tags yet), any signed-in caller (the API decides). */
function useMayPush(actions: string[]): boolean {
  const { info } = useSession();
  if (actions.length > 0) return actions.includes('push');
  return info?.authMode === 'none' || Boolean(info?.user);
}

function Autobuilds({ rows, actions, onQueued }: { rows: AutobuildRow[]; actions: string[]; onQueued(): Promise<void> }) {
  const { api } = useSession();
  const { navigate } = useRouter();
  const mayPush = useMayPush(actions);
  const { error, run } = useAction();
  const [busy, setBusy] = useState<string | null>(null);
  if (rows.length === 0) {
    return (
      <p class="note">
        None. Register one with <code>wharf autobuild add REPOSITORY --git URL</code>.
      </p>
    );
  }
  const buildNow = async (row: AutobuildRow) => {
    setBusy(row.id);
    await run(async () => {
      const build = await api.send<BuildRow>('POST', `/autobuilds/${encodeURIComponent(row.id)}/builds`);
      await onQueued();
      navigate(`/ui/builds/${encodeURIComponent(build.id)}`);
    });
    setBusy(null);
  };
  return (
    <>
      {error && <ErrorNote error={error} what="Could not queue a build" />}
      <ul class="autobuilds">
        {rows.map((row) => (
          <li key={row.id} class="card">
            <dl class="facts">
              <dt>Source</dt>
              <dd>
                <code>{row.git}</code> at <code>{row.ref}</code>
              </dd>
              <dt>Dockerfile</dt>
              <dd>
                <code>{row.dockerfile}</code> in <code>{row.context}</code>
              </dd>
              <dt>Tag</dt>
              <dd>
                <code>{row.tag}</code>
              </dd>
              <dt>Webhook</dt>
              <dd>
                <code class="wrap">{row.webhookUrl}</code>
              </dd>
            </dl>
            {mayPush && (
              <button type="button" onClick={() => buildNow(row)} disabled={busy === row.id} aria-label={`Build now from ${row.git} ${row.ref}`}>
                Build now
              </button>
            )}
          </li>
        ))}
      </ul>
    </>
  );
}

function BuildsTable({ builds }: { builds: BuildRow[] }) {
  return (
    <DataTable label="Builds" class="builds" columns={['Build', 'State', 'Commit', 'Trigger', 'Queued', 'Duration', 'Image']}>
      {builds.map((build) => (
        <tr key={build.id} tabIndex={-1}>
          <th scope="row">
            <Link href={`/ui/builds/${encodeURIComponent(build.id)}`}>{build.id}</Link>
          </th>
          <td>
            <BuildBadge state={build.state} />
          </td>
          <td>{build.commit ? <code title={build.commit}>{build.commit.slice(0, 12)}</code> : <code>{build.ref}</code>}</td>
          <td>{build.trigger}</td>
          <td>{formatTime(build.queuedAt)}</td>
          <td>{build.startedAt ? formatDuration(build.startedAt, build.finishedAt) : '—'}</td>
          <td>{build.digest ? <code title={build.digest}>{shortDigest(build.digest)}</code> : ''}</td>
        </tr>
      ))}
    </DataTable>
  );
}
