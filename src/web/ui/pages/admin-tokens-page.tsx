import { useState } from 'preact/hooks';
import type { CreatedToken, TokenRow, UserRow } from '../../api-types.ts';
import { ConfirmDialog } from '../components/confirm-dialog.tsx';
import { DataTable } from '../components/data-table.tsx';
import { ErrorNote, Loading } from '../components/notes.tsx';
import { formatTime } from '../format.ts';
import { useSession } from '../session.tsx';
import { useAction } from '../use-action.ts';
import { useLoad } from '../use-load.ts';
import { SecretDialog } from './admin-dialogs.tsx';
import { Field } from './admin-field.tsx';
import { adminPage } from './admin-layout.tsx';

/** /ui/admin/tokens: robot tokens (passwords for CI and robots): create, list, revoke. */
export const AdminTokensPage = adminPage('tokens', TokensAdmin);

function TokensAdmin() {
  const { api } = useSession();
  const tokens = useLoad((client) => client.get<{ tokens: TokenRow[] }>('/tokens'), []);
  const [created, setCreated] = useState<CreatedToken | null>(null);
  const [revoking, setRevoking] = useState<TokenRow | null>(null);
  const { error, run } = useAction();
  const revoke = async (token: TokenRow) => {
    setRevoking(null);
    await run(() => api.send('DELETE', `/tokens/${encodeURIComponent(token.id)}`));
    tokens.reload();
  };
  return (
    <>
      <CreateTokenForm
        onCreated={(token) => {
          setCreated(token);
          tokens.reload();
        }}
      />
      <h2>Tokens</h2>
      {error && <ErrorNote error={error} what="Revoking" />}
      {tokens.error && <ErrorNote error={tokens.error} what="Tokens" />}
      {!tokens.data && !tokens.error && <Loading what="tokens" />}
      {tokens.data && <TokensTable tokens={tokens.data.tokens} onRevoke={setRevoking} />}
      {created && (
        <SecretDialog title="Token created" secret={created.secret} onClose={() => setCreated(null)}>
          <p>
            Use it as the password of <strong>{created.user}</strong>, for example with <code>docker login -u {created.user}</code>. Token{' '}
            <code>{created.id}</code>.
          </p>
        </SecretDialog>
      )}
      {revoking && (
        <ConfirmDialog
          title="Revoke this token?"
          message={`Token ${revoking.id} of ${revoking.user}${revoking.description ? ` (${revoking.description})` : ''} stops working at once, for every client that uses it.`}
          confirmLabel="Revoke"
          onConfirm={() => revoke(revoking)}
          onCancel={() => setRevoking(null)}
        />
      )}
    </>
  );
}

function TokensTable({ tokens, onRevoke }: { tokens: TokenRow[]; onRevoke(token: TokenRow): void }) {
  if (tokens.length === 0) return <p>No tokens yet.</p>;
  return (
    <DataTable label="Robot tokens" columns={['Token', 'User', 'Scopes', 'Description', 'Created', 'State']}>
      {tokens.map((token) => (
        <tr key={token.id}>
          <th scope="row">
            <code>{token.id}</code>
          </th>
          <td>{token.user}</td>
          <td>{token.scopes.length ? token.scopes.map((scope) => <code class="scope" key={scope}>{scope}</code>) : 'all the user may do'}</td>
          <td>{token.description}</td>
          <td>{formatTime(token.createdAt)}</td>
          <td>
            {token.revokedAt ? (
              <span class="badge badge-failed">revoked {formatTime(token.revokedAt)}</span>
            ) : (
              <button type="button" class="small danger" aria-label={`Revoke token ${token.id}`} onClick={() => onRevoke(token)}>
                Revoke
              </button>
            )}
          </td>
        </tr>
      ))}
    </DataTable>
  );
}

function CreateTokenForm({ onCreated }: { onCreated(token: CreatedToken): void }) {
  const { api } = useSession();
  const users = useLoad((client) => client.get<{ users: UserRow[] }>('/users'), []);
  const { error, run } = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    await run(async () => {
      const scopes = String(data.get('scopes')).split(/\s+/).filter(Boolean);
      onCreated(await api.send<CreatedToken>('POST', '/tokens', { user: String(data.get('user')), scopes, description: String(data.get('description')) }));
      form.reset();
    });
  };
  const names = users.data?.users.filter((user) => !user.disabled).map((user) => user.name) ?? [];
  return (
    <form class="form-grid" onSubmit={submit} aria-labelledby="create-token-title">
      <h2 id="create-token-title">Create a token</h2>
      <Field label="User">
        {(id) => (
          <select id={id} name="user" required>
            {names.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Scopes">
        {(id) => <input id={id} name="scopes" autocomplete="off" placeholder="repository:team/app:pull,push" aria-describedby="scopes-help" />}
      </Field>
      <p id="scopes-help" class="help">
        Separated by spaces; names may be globs (<code>repository:team/*:pull</code>). Empty: everything the user may do. The user's access rules
        still apply.
      </p>
      <Field label="Description">
        {(id) => <input id={id} name="description" autocomplete="off" placeholder="CI of team/app" />}
      </Field>
      <div class="actions">
        <button type="submit">Create token</button>
      </div>
      {error && <ErrorNote error={error} />}
      {users.error && <ErrorNote error={users.error} what="Users" />}
    </form>
  );
}
