import type { ComponentChildren } from 'preact';
import type { ChildRow, HistoryRow, ImageConfigView, LayerRow, ReferrerRow } from '../../api-types.ts';
import { DataTable } from '../components/data-table.tsx';
import { formatTime, historyCommand, humanSize, shortDigest } from '../format.ts';
import { Link } from '../router.tsx';

/** An exec-form command as a shell would read it: `["sh","-c","x y"]` -> `sh -c 'x y'`. */
function commandLine(args: string[] | null): string {
  if (!args || args.length === 0) return '—';
  return args.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`)).join(' ');
}

export function ChildrenTable(props: { rows: ChildRow[]; href(digest: string): string }) {
  return (
    <>
      <h2>Platforms</h2>
      <DataTable label="Platforms" columns={['Platform', 'Digest', 'Size', 'Media type']}>
        {props.rows.map((child) => (
          <tr key={child.digest}>
            <th scope="row">
              <Link href={props.href(child.digest)}>{child.platform ?? 'unknown platform'}</Link>
            </th>
            <td>
              <code title={child.digest}>{shortDigest(child.digest)}</code>
            </td>
            <td class="num">{humanSize(child.size)}</td>
            <td>{child.mediaType}</td>
          </tr>
        ))}
      </DataTable>
    </>
  );
}

export function LayersTable(props: { rows: LayerRow[] }) {
  const total = props.rows.reduce((sum, layer) => sum + layer.size, 0);
  return (
    <>
      <h2>Layers</h2>
      <DataTable
        label="Layers"
        columns={['#', 'Digest', 'Size', 'Media type']}
        foot={
          <tfoot>
            <tr>
              <th scope="row" colSpan={2}>
                Total
              </th>
              <td class="num">{humanSize(total)}</td>
              <td />
            </tr>
          </tfoot>
        }
      >
        {props.rows.map((layer, index) => (
          <tr key={`${index}-${layer.digest}`}>
            <td class="num">{index + 1}</td>
            <td>
              <code title={layer.digest}>{shortDigest(layer.digest)}</code>
            </td>
            <td class="num">{humanSize(layer.size)}</td>
            <td>{layer.mediaType}</td>
          </tr>
        ))}
      </DataTable>
    </>
  );
}

function Fact(props: { term: string; children: ComponentChildren }) {
  return (
    <>
      <dt>{props.term}</dt>
      <dd>{props.children}</dd>
    </>
  );
}

export function ConfigSection(props: { config: ImageConfigView }) {
  const { config } = props;
  const platform = [config.os, config.architecture, config.variant].filter(Boolean).join('/');
  const labels = Object.entries(config.labels);
  return (
    <>
      <h2>Config</h2>
      <dl class="facts">
        <Fact term="Platform">{platform || '—'}</Fact>
        <Fact term="Created">{formatTime(config.created)}</Fact>
        <Fact term="Entrypoint">
          <code class="wrap">{commandLine(config.entrypoint)}</code>
        </Fact>
        <Fact term="Cmd">
          <code class="wrap">{commandLine(config.cmd)}</code>
        </Fact>
        <Fact term="User">{config.user || '—'}</Fact>
        <Fact term="Working dir">{config.workingDir || '—'}</Fact>
        <Fact term="Exposed ports">{config.exposedPorts.length ? config.exposedPorts.join(', ') : '—'}</Fact>
        <Fact term="Env">
          {config.env.length ? (
            <ul class="plain">
              {config.env.map((entry) => (
                <li key={entry}>
                  <code class="wrap">{entry}</code>
                </li>
              ))}
            </ul>
          ) : (
            '—'
          )}
        </Fact>
        <Fact term="Config digest">
          <code title={config.digest}>{shortDigest(config.digest)}</code>
        </Fact>
      </dl>
      <LabelsTable labels={labels} />
    </>
  );
}

function LabelsTable(props: { labels: [string, string][] }) {
  const { labels } = props;
  return (
    <>
      <h3>Labels</h3>
      {labels.length === 0 ? (
        <p class="note">No labels.</p>
      ) : (
        <DataTable label="Labels" columns={['Label', 'Value']}>
          {labels.map(([key, value]) => (
            <tr key={key}>
              <th scope="row">
                <code class="wrap">{key}</code>
              </th>
              <td class="wrap">{value}</td>
            </tr>
          ))}
        </DataTable>
      )}
    </>
  );
}

export function HistoryTable(props: { rows: HistoryRow[] }) {
  return (
    <>
      <h2>History</h2>
      <DataTable label="History" columns={['Created', 'Command', 'Adds a layer']}>
        {props.rows.map((row, index) => (
          <tr key={index}>
            <td>{formatTime(row.created)}</td>
            <td>
              <code class="wrap">{historyCommand(row.createdBy) || row.comment || '—'}</code>
            </td>
            <td>{row.emptyLayer ? 'no' : 'yes'}</td>
          </tr>
        ))}
      </DataTable>
    </>
  );
}

export function ReferrersTable(props: { rows: ReferrerRow[]; href(digest: string): string }) {
  return (
    <>
      <h2>Referrers</h2>
      {props.rows.length === 0 ? (
        <p class="note">Nothing refers to this manifest (no signatures, SBOMs or attestations).</p>
      ) : (
        <DataTable label="Referrers" columns={['Artifact type', 'Digest', 'Size', 'Annotations']}>
          {props.rows.map((row) => (
            <tr key={row.digest}>
              <th scope="row">{row.artifactType ?? row.mediaType}</th>
              <td>
                <Link href={props.href(row.digest)}>
                  <code>{shortDigest(row.digest)}</code>
                </Link>
              </td>
              <td class="num">{humanSize(row.size)}</td>
              <td class="wrap">
                {Object.entries(row.annotations)
                  .map(([key, value]) => `${key}=${value}`)
                  .join(', ') || '—'}
              </td>
            </tr>
          ))}
        </DataTable>
      )}
    </>
  );
}
