import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Change } from '../snapshots/layer-diff.ts';
import { runtimeOnlyPaths, visibleChanges } from './container-changes.ts';

const added = (path: string): Change => ({ path, kind: 'added' });
const modified = (path: string): Change => ({ path, kind: 'modified' });

test('the mount points runc creates are hidden, with the directories copied up only for them', () => {
  const runcMade = [added('/dev'), added('/dev/pts'), added('/proc'), added('/sys'), modified('/etc'), added('/etc/hosts'), added('/etc/hostname'), added('/etc/resolv.conf')];
  assert.deepEqual(visibleChanges([...runcMade, modified('/tmp'), added('/tmp/x')]), [modified('/tmp'), added('/tmp/x')]);
});

test('a change beside the mount points keeps its directory, which the init layer already has', () => {
  assert.deepEqual(visibleChanges([added('/etc'), added('/etc/hosts'), added('/etc/motd')]), [modified('/etc'), added('/etc/motd')]);
  assert.deepEqual(visibleChanges([modified('/etc'), added('/etc/hosts'), { path: '/etc/passwd', kind: 'deleted' }]), [
    modified('/etc'),
    { path: '/etc/passwd', kind: 'deleted' },
  ]);
});

test('a directory changed itself stays; files of the init layer show as changed, not added', () => {
  assert.deepEqual(visibleChanges([modified('/etc')]), [modified('/etc')]);
  assert.deepEqual(visibleChanges([added('/.dockerenv'), added('/etc/mtab')]), [modified('/.dockerenv'), modified('/etc/mtab')]);
  assert.deepEqual(visibleChanges([added('/devices'), added('/system')]), [added('/devices'), added('/system')]);
});

test('a directory whose own mode or owner changed stays though only mount points lie below it', () => {
  const chmodded: Change = { path: '/etc', kind: 'modified', ownChange: true };
  assert.deepEqual(visibleChanges([chmodded, added('/etc/hosts'), added('/etc/hostname')]), [chmodded]);
});

test('a commit leaves out exactly what docker diff hides', () => {
  const runcMade = [added('/dev'), added('/proc'), modified('/etc'), added('/etc/hosts'), added('/etc/hostname'), added('/etc/resolv.conf')];
  assert.deepEqual([...runtimeOnlyPaths([...runcMade, modified('/tmp'), added('/tmp/x')])], runcMade.map((c) => c.path));
  assert.deepEqual([...runtimeOnlyPaths([modified('/etc'), added('/etc/hosts'), added('/etc/motd')])], ['/etc/hosts']);
  assert.deepEqual([...runtimeOnlyPaths([{ path: '/etc', kind: 'modified', ownChange: true }, added('/etc/hosts')])], ['/etc/hosts']);
});
