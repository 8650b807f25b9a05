import type { QuotaRow } from '../../api-types.ts';
import { humanSize } from '../format.ts';
import { AdminLayout } from './admin-layout.tsx';
import { useLoad } from '../use-load.ts';
import { ErrorNote, Loading, TableRegion } from '../components/notes.tsx';

/** /ui/admin/quotas: each namespace's storage limit and what it uses now. */
export function AdminQuotasPage() {
  return (
    <AdminLayout current="quotas">
      <QuotasAdmin />
    </AdminLayout>
  );
}

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
        <TableRegion label="Quotas and usage">
          <table>
            <thead>
              <tr>
                <th scope="col">Namespace</th>
                <th scope="col">Usage</th>
                <th scope="col">Used</th>
                <th scope="col">Limit</th>
              </tr>
            </thead>
            <tbody>
              {quotas.data.quotas.map((quota) => (
                <QuotaLine key={quota.namespace} quota={quota} />
              ))}
            </tbody>
          </table>
        </TableRegion>
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
