import { useState } from 'preact/hooks';
import type { GcRunRow } from '../../api-types.ts';
import { useSession } from '../session.tsx';
import { formatTime, humanSize } from '../format.ts';
import { formatDuration } from './builds-duration.ts';
import { adminPage } from './admin-layout.tsx';
import { useAction } from '../use-action.ts';
import { useLoad } from '../use-load.ts';
import { DataTable } from '../components/data-table.tsx';
import { ErrorNote, Loading } from '../components/notes.tsx';
import { usePolling } from './builds-polling.ts';

const triggerText: Record<GcRunRow['trigger'], string> = { schedule: 'schedule', cli: 'wharf gc', api: 'this page or the API' };

/** /ui/admin/gc: garbage-collection runs, newest first, and "Run now"; refreshed every second while one runs. */
export const AdminGcPage = adminPage('gc', GcAdmin);

function GcAdmin() {
  const runs = useLoad((client) => client.get<{ runs: GcRunRow[] }>('/gc/runs'), []);
  const running = runs.data?.runs.some((run) => run.state === 'running') ?? false;
  usePolling(runs.reload, 1000, running);
  return (
    <>
      <RunNowForm running={running} onStarted={() => runs.reload()} />
      <h2>Runs</h2>
      {runs.error && <ErrorNote error={runs.error} />}
      {!runs.data && !runs.error && <Loading what="runs" />}
      {runs.data && runs.data.runs.length === 0 && <p>No runs yet.</p>}
      {runs.data && runs.data.runs.length > 0 && <RunsTable runs={runs.data.runs} />}
    </>
  );
}

function RunNowForm({ running, onStarted }: { running: boolean; onStarted(): void }) {
  const { api } = useSession();
  const [started, setStarted] = useState<string | null>(null);
  const { error, run: send } = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    if (running) return;
    const data = new FormData(event.currentTarget as HTMLFormElement);
    await send(async () => {
      const run = await api.send<GcRunRow>('POST', '/gc/runs', { dryRun: data.get('dryRun') === 'on', deleteUntagged: data.get('deleteUntagged') === 'on' });
      setStarted(`Started run ${run.id}${run.dryRun ? ' (dry run)' : ''}.`);
      onStarted();
    });
  };
  return (
    <form class="form-grid" onSubmit={submit} aria-labelledby="gc-run-title">
      <h2 id="gc-run-title">Collect garbage</h2>
      <p class="help">Removes blobs no manifest references any more (after the grace period), freeing their space.</p>
      <label class="check">
        <input name="dryRun" type="checkbox" />
        <span>Dry run (count what would be freed, remove nothing)</span>
      </label>
      <label class="check">
        <input name="deleteUntagged" type="checkbox" />
        <span>Also delete untagged manifests</span>
      </label>
      <div class="actions">
        <button type="submit" aria-disabled={running}>
          Run now
        </button>
      </div>
      {running && <p class="help">A run is in progress; this page follows it.</p>}
      <p class="note" role="status">
        {started}
      </p>
      {error && <ErrorNote error={error} />}
    </form>
  );
}

function RunsTable({ runs }: { runs: GcRunRow[] }) {
  return (
    <DataTable label="Garbage-collection runs, newest first" columns={['Started', 'State', 'Trigger', 'Duration', 'Blobs', 'Freed', 'Manifests']} live>
      {runs.map((run) => (
        <tr key={run.id}>
          <th scope="row">{formatTime(run.startedAt)}</th>
          <td>
            <span class={`badge badge-${run.state}`}>{run.state}</span>
            {run.dryRun && <span class="badge">dry run</span>}
            {run.error && <div class="note error">{run.error}</div>}
          </td>
          <td>{triggerText[run.trigger] ?? run.trigger}</td>
          <td>{formatDuration(run.startedAt, run.finishedAt)}</td>
          <td>{run.blobsRemoved}</td>
          <td title={`${run.bytesFreed} bytes`}>{humanSize(run.bytesFreed)}</td>
          <td>{run.manifestsRemoved}</td>
        </tr>
      ))}
    </DataTable>
  );
}
