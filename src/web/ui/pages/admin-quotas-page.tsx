import type { QuotaRow } from '../../api-types.ts';
import { humanSize } from '../format.ts';
import { adminPage } from './admin-layout.tsx';
import { useLoad } from '../use-load.ts';
import { DataTable } from '../components/data-table.tsx';
import { ErrorNote, Loading } from '../components/notes.tsx';

/** /ui/admin/quotas: each namespace's storage limit and what it uses now. */
export const AdminQuotasPage = adminPage('quotas', QuotasAdmin);

function QuotasAdmin() {
  const quotas = useLoad((client) => client.get<{ quotas: QuotaRow[] }>('/quotas'), []);
  return (
    <>
      {quotas.error && <ErrorNote error={quotas.error} />}
      {!quotas.data && !quotas.error && <Loading what="quotas" />}
      {quotas.data && quotas.data.quotas.length === 0 && (
        <p>
          No quotas are set. Set one with <code>wharf quota set NAMESPACE SIZE</code>.
        </p>
      )}
      {quotas.data && quotas.data.quotas.length > 0 && (
        <DataTable label="Quotas and usage" columns={['Namespace', 'Usage', 'Used', 'Limit']}>
          {quotas.data.quotas.map((quota) => (
            <QuotaLine key={quota.namespace} quota={quota} />
          ))}
        </DataTable>
      )}
    </>
  );
}

function QuotaLine({ quota }: { quota: QuotaRow }) {
  const percent = quota.limit > 0 ? Math.round((quota.used / quota.limit) * 100) : 0;
  const level = percent >= 90 ? 'high' : percent >= 70 ? 'mid' : 'low';
  return (
    <tr>
      <th scope="row">{quota.namespace}</th>
      <td>
        <meter
          class={`usage usage-${level}`}
          min={0}
          max={quota.limit}
          low={quota.limit * 0.7}
          high={quota.limit * 0.9}
          optimum={0}
          value={Math.min(quota.used, quota.limit)}
          aria-label={`${quota.namespace}: ${percent}% used`}
        />
        <span class="usage-percent">{percent}%</span>
      </td>
      <td title={`${quota.used} bytes`}>{humanSize(quota.used)}</td>
      <td title={`${quota.limit} bytes`}>{humanSize(quota.limit)}</td>
    </tr>
  );
}
