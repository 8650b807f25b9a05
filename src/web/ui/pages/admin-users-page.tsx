import { useState } from 'preact/hooks';
import type { UserRow } from '../../api-types.ts';
import { DataTable } from '../components/data-table.tsx';
import { ErrorNote, Loading } from '../components/notes.tsx';
import { formatTime } from '../format.ts';
import { useSession } from '../session.tsx';
import { useAction } from '../use-action.ts';
import { useLoad } from '../use-load.ts';
import { PasswordDialog } from './admin-dialogs.tsx';
import { Field } from './admin-field.tsx';
import { adminPage } from './admin-layout.tsx';

type UserChange = Partial<Pick<UserRow, 'admin' | 'disabled'>> & { password?: string };

const userPath = (name: string) => `/users/${encodeURIComponent(name)}`;

/** /ui/admin/users: every account, and what an administrator changes about them. */
export const AdminUsersPage = adminPage('users', UsersAdmin);

function UsersAdmin() {
  const { api } = useSession();
  const users = useLoad((client) => client.get<{ users: UserRow[] }>('/users'), []);
  const { error, run } = useAction();
  const [resetting, setResetting] = useState<string | null>(null);
  const change = (name: string, changes: UserChange) =>
    run(async () => {
      await api.send('PATCH', userPath(name), changes);
      users.reload();
    });
  return (
    <>
      <AddUserForm onAdded={users.reload} />
      <h2>Accounts</h2>
      {error && <ErrorNote error={error} />}
      {users.error && <ErrorNote error={users.error} what="Users" />}
      {!users.data && !users.error && <Loading what="users" />}
      {users.data && <UsersTable users={users.data.users} onChange={change} onReset={setResetting} />}
      {resetting && (
        <PasswordDialog user={resetting} onClose={() => setResetting(null)} onSubmit={(password) => api.send('PATCH', userPath(resetting), { password })} />
      )}
    </>
  );
}

interface TableProps {
  users: UserRow[];
  onChange(name: string, changes: UserChange): void;
  onReset(name: string): void;
}

function UsersTable({ users, onChange, onReset }: TableProps) {
  if (users.length === 0) return <p>No users yet.</p>;
  return (
    <DataTable label="Users" columns={['Name', 'Email', 'Role', 'State', 'Created', 'Actions']}>
      {users.map((user) => (
        <tr key={user.name}>
          <th scope="row">{user.name}</th>
          <td>{user.email}</td>
          <td>{user.admin ? 'Administrator' : 'User'}</td>
          <td>
            <span class={`badge ${user.disabled ? 'badge-failed' : 'badge-succeeded'}`}>{user.disabled ? 'Disabled' : 'Active'}</span>
          </td>
          <td>{formatTime(user.createdAt)}</td>
          <td class="row-actions">
            <button type="button" class="small" aria-label={`${user.disabled ? 'Enable' : 'Disable'} ${user.name}`} onClick={() => onChange(user.name, { disabled: !user.disabled })}>
              {user.disabled ? 'Enable' : 'Disable'}
            </button>
            <button
              type="button"
              class="small"
              aria-label={user.admin ? `Remove the administrator role of ${user.name}` : `Make ${user.name} an administrator`}
              onClick={() => onChange(user.name, { admin: !user.admin })}
            >
              {user.admin ? 'Remove admin' : 'Make admin'}
            </button>
            <button type="button" class="small" aria-label={`Reset the password of ${user.name}`} onClick={() => onReset(user.name)}>
              Reset password
            </button>
          </td>
        </tr>
      ))}
    </DataTable>
  );
}

function AddUserForm({ onAdded }: { onAdded(): void }) {
  const { api } = useSession();
  const [done, setDone] = useState<string | null>(null);
  const { error, run } = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    const name = String(data.get('name'));
    const email = String(data.get('email'));
    setDone(null);
    await run(async () => {
      await api.send('POST', '/users', { name, password: String(data.get('password')), admin: data.get('admin') === 'on', ...(email ? { email } : {}) });
      form.reset();
      setDone(`Added user ${name}.`);
      onAdded();
    });
  };
  return (
    <form class="form-grid" onSubmit={submit} aria-labelledby="add-user-title">
      <h2 id="add-user-title">Add a user</h2>
      <Field label="Name">
        {(id) => <input id={id} name="name" required autocomplete="off" />}
      </Field>
      <Field label="Password">
        {(id) => <input id={id} name="password" type="password" required minLength={6} autocomplete="new-password" />}
      </Field>
      <Field label="Email">
        {(id) => <input id={id} name="email" type="email" autocomplete="off" />}
      </Field>
      <label class="check">
        <input name="admin" type="checkbox" />
        <span>Administrator</span>
      </label>
      <div class="actions">
        <button type="submit">Add user</button>
      </div>
      <p class="note" role="status">
        {done}
      </p>
      {error && <ErrorNote error={error} />}
    </form>
  );
}
