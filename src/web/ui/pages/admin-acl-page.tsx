import type { AclView } from '../../api-types.ts';
import { adminPage } from './admin-layout.tsx';
import { useLoad } from '../use-load.ts';
import { DataTable } from '../components/data-table.tsx';
import { ErrorNote, Loading } from '../components/notes.tsx';

/** The shape config's `auth.acl` rules have (src/base/config.ts); anything else is shown as written. */
interface AclRule {
  match?: { account?: string; name?: string; ip?: string };
  actions?: string[];
  comment?: string;
}

const modeText: Record<AclView['authMode'], string> = {
  none: 'none: everyone may do everything',
  htpasswd: 'htpasswd: Basic authentication against the users',
  token: 'token: bearer tokens from the token server',
};

/** /ui/admin/acl: the access rules of the config, read-only (they are changed in the config file). */
export const AdminAclPage = adminPage('acl', AclAdmin);

function AclAdmin() {
  const acl = useLoad((client) => client.get<AclView>('/acl'), []);
  return (
    <>
      {acl.error && <ErrorNote error={acl.error} />}
      {!acl.data && !acl.error && <Loading what="access rules" />}
      {acl.data && (
        <>
          <dl class="facts">
            <dt>Authentication</dt>
            <dd>{modeText[acl.data.authMode] ?? acl.data.authMode}</dd>
            <dt>Anonymous pull</dt>
            <dd>{acl.data.anonymousPull ? 'allowed' : 'not allowed'}</dd>
          </dl>
          <h2>Rules</h2>
          <p class="help">
            The first rule whose match fits a request decides what it may do. Rules are read from <code>auth.acl</code> in the configuration
            file; this page only shows them.
          </p>
          <RulesTable rules={acl.data.rules as AclRule[]} />
        </>
      )}
    </>
  );
}

function RulesTable({ rules }: { rules: AclRule[] }) {
  if (rules.length === 0) return <p>No rules: the built-in defaults apply.</p>;
  return (
    <DataTable label="Access rules, in order" columns={['#', 'Account', 'Repository', 'Address', 'Actions', 'Comment']}>
      {rules.map((rule, index) => (
        <tr key={index}>
          <th scope="row">{index + 1}</th>
          <td>{rule.match?.account ?? <span class="muted">any</span>}</td>
          <td>{rule.match?.name ?? <span class="muted">any</span>}</td>
          <td>{rule.match?.ip ?? <span class="muted">any</span>}</td>
          <td>{rule.actions?.length ? rule.actions.join(', ') : <span class="muted">none</span>}</td>
          <td>{rule.comment ?? ''}</td>
        </tr>
      ))}
    </DataTable>
  );
}
