import type { ActivityEvent, ActivityList } from '../../api-types.ts';
import { DataTable } from '../components/data-table.tsx';
import { ErrorNote, Loading } from '../components/notes.tsx';
import { formatTime, shortDigest } from '../format.ts';
import type { RepositoryTabProps } from '../repository-tabs.tsx';
import { buildPath } from '../route-match.ts';
import { Link } from '../router.tsx';
import { useFocusOnMore, usePages } from './activity-pages.ts';

const pageSize = 50;

const actionText: Record<ActivityEvent['action'], string> = { push: 'pushed', pull: 'pulled', delete: 'deleted' };

/** /ui/activity: recent pushes, pulls and deletes in every repository the caller may pull, newest first. */
export function ActivityPage() {
  return (
    <section aria-labelledby="activity-title">
      <h1 id="activity-title" tabIndex={-1}>
        Activity
      </h1>
      <p class="help">Pushes, pulls and deletes in the repositories you may pull, newest first. Pulls of one image by one client within a second count as one row.</p>
      <ActivityFeed repository={null} />
    </section>
  );
}

/** The "Activity" tab of a repository's page. */
export function RepositoryActivity(props: RepositoryTabProps) {
  return (
    <section aria-labelledby="repository-activity-title">
      <h2 id="repository-activity-title">Activity</h2>
      <ActivityFeed repository={props.repository} />
    </section>
  );
}

function ActivityFeed({ repository }: { repository: string | null }) {
  const events = usePages(
    async (api, last) => {
      const list = await api.get<ActivityList>('/activity', { repository, last, n: pageSize });
      return { items: list.events, next: list.next };
    },
    (event) => event.id,
    [repository],
  );
  const focus = useFocusOnMore(events.items.length);
  return (
    <>
      {events.error && <ErrorNote error={events.error} what="Activity" />}
      {events.loading && events.items.length === 0 && <Loading what="activity" />}
      {!events.loading && !events.error && events.items.length === 0 && <p class="note">Nothing happened here yet.</p>}
      <div ref={focus.ref}>{events.items.length > 0 && <ActivityTable events={events.items} showRepository={repository === null} />}</div>
      {events.more && (
        <div class="actions">
          <button type="button" onClick={() => (focus.before(), events.loadMore())} aria-busy={events.loading}>
            More
          </button>
        </div>
      )}
    </>
  );
}

function ActivityTable({ events, showRepository }: { events: ActivityEvent[]; showRepository: boolean }) {
  return (
    <DataTable label="Activity" class="activity" columns={['When', 'Action', showRepository && 'Repository', 'Tag', 'Digest', 'By', 'Count']}>
      {events.map((event) => (
        <tr key={event.id} tabIndex={-1}>
          <td>
            <time dateTime={event.at}>{formatTime(event.at)}</time>
          </td>
          <td>
            <span class={`badge badge-${event.action}`}>{actionText[event.action] ?? event.action}</span>
          </td>
          {showRepository && (
            <td>
              <Link href={buildPath('/ui/r/:name+', { name: event.repository })}>{event.repository}</Link>
            </td>
          )}
          <td>{event.tag ?? ''}</td>
          <td>
            {event.digest && (
              <Link href={buildPath('/ui/r/:name+/-/manifest/:reference', { name: event.repository, reference: event.digest })} title={event.digest}>
                <code>{shortDigest(event.digest)}</code>
              </Link>
            )}
          </td>
          <td>{event.actor || <span title="shown to those who may push here">—</span>}</td>
          <td class="num">{event.count}</td>
        </tr>
      ))}
    </DataTable>
  );
}
