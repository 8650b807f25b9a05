import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Fault } from '../../base/fault.ts';
import type { ContainerRecord } from './container-record.ts';
import { joinedNamespaces, pinJoinedContainers } from './joined-namespaces.ts';

const dir = (id: string) => `/containers/${id}`;
/** Every pid is in the cgroup of the container whose record names it (pid 42: any `<name>-id`), as runc put it. */
const cgroups = (pid: number) => (pid === 42 ? ['db', 'h', 'p'].map((n, i) => `${i + 1}:memory:/wharf/${n}-id`).join('\n') : '');
const record = (name: string, host: Record<string, unknown>, state: Partial<ContainerRecord['state']> = {}) =>
  ({ id: `${name}-id`, name: `/${name}`, hostConfig: host, state: { Running: true, Restarting: false, Pid: 42, ...state } }) as unknown as ContainerRecord;

function resolver(...records: ContainerRecord[]) {
  return (input: string) => {
    const found = records.find((r) => r.name === `/${input}` || r.id === input);
    if (!found) throw new Fault('not-found', `No such container: ${input}`);
    return found;
  };
}

test('a running shareable donor gives its IPC namespace and /dev/shm, any running one its PID namespace', () => {
  const db = record('db', { IpcMode: 'shareable' });
  const joined = joinedNamespaces(resolver(db), record('app', { IpcMode: 'container:db', PidMode: 'container:db' }), dir, cgroups);
  assert.deepEqual(joined, { ipc: { path: '/proc/42/ns/ipc', shm: '/containers/db-id/shm' }, pid: '/proc/42/ns/pid' });
  assert.deepEqual(joinedNamespaces(resolver(), db, dir, cgroups), { shm: '/containers/db-id/shm' }, 'a shareable container binds its own host tmpfs');
  const host = record('h', { IpcMode: 'host' });
  assert.deepEqual(joinedNamespaces(resolver(host), record('app', { IpcMode: 'container:h' }), dir, cgroups).ipc, { path: '/proc/42/ns/ipc', shm: '/dev/shm' });
  assert.deepEqual(joinedNamespaces(resolver(), record('app', { IpcMode: 'private' }), dir, cgroups), {});
});

test('moby\'s errors: a missing, stopped or private donor', () => {
  const stopped = record('db', { IpcMode: 'shareable' }, { Running: false });
  const fault = (kind: string, message: string) => (err: unknown) => err instanceof Fault && err.kind === kind && err.message === message;
  assert.throws(() => joinedNamespaces(resolver(), record('a', { IpcMode: 'container:x' }), dir, cgroups), fault('not-found', "can't join IPC of container x: No such container: x"));
  assert.throws(() => joinedNamespaces(resolver(stopped), record('a', { IpcMode: 'container:db' }), dir, cgroups), fault('conflict', "can't join IPC of container db: container db-id is not running"));
  assert.throws(() => joinedNamespaces(resolver(), record('a', { PidMode: 'container:x' }), dir, cgroups), fault('not-found', 'cannot join PID of a non running container: x: No such container: x'));
  assert.throws(() => joinedNamespaces(resolver(stopped), record('a', { PidMode: 'container:db' }), dir, cgroups), fault('conflict', 'container db-id is not running'));
  const priv = record('p', { IpcMode: 'private' });
  assert.throws(
    () => joinedNamespaces(resolver(priv), record('a', { IpcMode: 'container:p' }), dir, cgroups),
    (err: unknown) => err instanceof Fault && err.kind === 'internal' && err.message === "can't join IPC of container p: non-shareable IPC (hint: use IpcMode:shareable for the donor container)",
  );
});

test('at create a donor name becomes its id; an unknown one is kept for start to refuse', () => {
  const host: Record<string, unknown> = { IpcMode: 'container:db', PidMode: 'container:ghost' };
  pinJoinedContainers(resolver(record('db', {})), host);
  assert.deepEqual(host, { IpcMode: 'container:db-id', PidMode: 'container:ghost' });
});

test('a donor whose stored pid is no longer its process (exited unseen, pid reused) is not running', () => {
  const db = record('db', { IpcMode: 'shareable' }, { Pid: 7 });
  const fault = (message: string) => (err: unknown) => err instanceof Fault && err.kind === 'conflict' && err.message === message;
  const stranger = (pid: number) => (pid === 7 ? '0::/user.slice/user-1000.slice/session-2.scope\n' : '');
  const gone = () => '';
  for (const cgroupsOf of [stranger, gone]) {
    assert.throws(() => joinedNamespaces(resolver(db), record('a', { PidMode: 'container:db' }), dir, cgroupsOf), fault('container db-id is not running'));
    assert.throws(
      () => joinedNamespaces(resolver(db), record('a', { IpcMode: 'container:db' }), dir, cgroupsOf),
      fault("can't join IPC of container db: container db-id is not running"),
    );
  }
  // cgroup v2, and a process the donor moved below its own cgroup (systemd in the container): still the donor's.
  const own = (pid: number) => (pid === 7 ? '0::/wharf/db-id/init.scope\n' : '');
  assert.equal(joinedNamespaces(resolver(db), record('a', { PidMode: 'container:db' }), dir, own).pid, '/proc/7/ns/pid');
});
